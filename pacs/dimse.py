"""DIMSE with pynetdicom: C-STORE as a service class user (PS3.7 9.1.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset, dcmread
from pynetdicom import AE
from pynetdicom.association import Association

from pacs.errors import DimseError

SUCCESS = 0x0000


@dataclass(frozen=True)
class DicomPeer:
    """A remote application entity: where to connect and with which AE titles."""

    host: str
    port: int
    called_aet: str
    calling_aet: str = "NADIR-SCU"

    def __post_init__(self) -> None:
        for name in ("called_aet", "calling_aet"):
            aet = getattr(self, name)
            # PS3.5 6.2: AE titles are 1-16 characters of the default repertoire.
            if not aet or len(aet) > 16 or "\\" in aet:
                raise DimseError(f"{name} must be 1-16 characters without backslash, got {aet!r}")
        if not 0 < self.port < 65536:
            raise DimseError(f"port must be a TCP port, got {self.port}")


def _ae(calling_aet: str) -> AE:
    ae = AE(ae_title=calling_aet)
    ae.acse_timeout = 10
    ae.dimse_timeout = 60
    ae.network_timeout = 30
    return ae


def _no_delay(assoc: Association) -> None:
    """Turn Nagle's algorithm off on the association's socket.

    Each C-STORE ends with a small PDU; with Nagle on, it waits for the peer's delayed ACK
    (~40 ms on Linux), which caps a push at ~20 instances/s.
    """
    sock = getattr(getattr(assoc.dul, "socket", None), "socket", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def store(
    peer: DicomPeer,
    items: Iterable[Dataset | Path | str],
    *,
    contexts: Sequence[tuple[str, str]] | None = None,
) -> list[str]:
    """C-STORE every item over one association; return the stored SOP Instance UIDs.

    ``contexts`` lists the (SOP class, transfer syntax) pairs to propose; with it, ``items``
    is consumed lazily, one dataset at a time. Without it, every item is read first to
    collect them. Raises :class:`DimseError` on refusal or on the first non-success status,
    naming the instance (by UID only: no patient data in messages).
    """
    datasets: Iterable[Dataset]
    if contexts is None:
        loaded = [d if isinstance(d, Dataset) else dcmread(d) for d in items]
        contexts = list(dict.fromkeys(
            (str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in loaded))
        datasets = loaded
    else:
        datasets = (d if isinstance(d, Dataset) else dcmread(d) for d in items)
    if not contexts:
        return []
    if len(contexts) > 128:  # PS3.8 9.3.2.2: at most 128 presentation contexts
        raise DimseError("more than 128 SOP class / transfer syntax combinations in one push")
    ae = _ae(peer.calling_aet)
    for sop_class, syntax in contexts:
        ae.add_requested_context(sop_class, [syntax])
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.called_aet)
    if not assoc.is_established:
        raise DimseError(f"association with {peer.called_aet}@{peer.host}:{peer.port} refused")
    _no_delay(assoc)
    stored: list[str] = []
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            code = int(status.Status) if status and "Status" in status else None
            # PS3.4 B.2.3: 0xB000, 0xB007, 0xB006 are warnings: the instance was stored.
            if code is None or not (code == SUCCESS or code in (0xB000, 0xB006, 0xB007)):
                raise DimseError(
                    f"C-STORE of {ds.SOPInstanceUID} failed with status "
                    f"{'none' if code is None else hex(code)}",
                    status=code,
                )
            stored.append(str(ds.SOPInstanceUID))
    finally:
        if assoc.is_established:
            assoc.release()
    return stored


