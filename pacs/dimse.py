"""DIMSE with pynetdicom: C-STORE as a service class user (PS3.7 9.1.1).

A push never reports a false success and never gives up on a transient fault:

- An instance whose response is missing or invalid, or whose association dropped, is sent
  again on a fresh association, up to ``StoreOptions.attempts`` times. C-STORE of the same
  SOP Instance is idempotent at the receiver, so a second copy of an instance that did
  arrive costs nothing.
- Only a refusal status from the peer (PS3.4 B.2.3: 0xA7xx, 0xA9xx, 0xCxxx, and the general
  failures of PS3.7 C) ends the push at once.
- Each error names its real cause: a rejected association (with the peer's reason), no TCP
  connection (with the system's reason), no answer, or the refusal status.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmread
from pynetdicom import AE, evt
from pynetdicom.association import Association

from pacs.errors import (
    AssociationRejected,
    DimseError,
    NoResponse,
    PeerUnreachable,
    StoreRefused,
)

log = logging.getLogger(__name__)

SUCCESS = 0x0000
#: PS3.4 B.2.3: these warnings mean the instance was stored.
STORED_WITH_WARNING = frozenset({0xB000, 0xB006, 0xB007})
#: PS3.7 E.1-1: Command Field of a C-STORE-RSP.
C_STORE_RSP = 0x8001
#: A response that pynetdicom decoded but did not hand to send_c_store() within this time
#: was taken by its reactor thread (see _ResponseGuard) and is handed back.
RESCUE_AFTER_S = 0.5
#: PS3.8 9.3.2.2: at most 128 presentation contexts in one association request.
MAX_CONTEXTS = 128


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

    def __str__(self) -> str:
        return f"{self.called_aet}@{self.host}:{self.port}"


@dataclass(frozen=True)
class StoreOptions:
    """Timeouts of one push and how often one instance is tried."""

    acse_timeout_s: float = 10.0
    dimse_timeout_s: float = 60.0
    network_timeout_s: float = 30.0
    attempts: int = 3
    retry_delay_s: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise DimseError(f"attempts must be at least 1, got {self.attempts}")
        for name in ("acse_timeout_s", "dimse_timeout_s", "network_timeout_s"):
            if getattr(self, name) <= 0:
                raise DimseError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass
class PushStats:
    """What a push needed beyond one send per instance."""

    resent: int = 0  # instances sent again on a fresh association
    associations: int = 0
    rescued: int = 0  # responses taken by pynetdicom's reactor and handed back
    causes: list[str] = field(default_factory=list)


def store(
    peer: DicomPeer,
    items: Iterable[Dataset | Path | str],
    *,
    contexts: Sequence[tuple[str, str]] | None = None,
    options: StoreOptions | None = None,
    stats: PushStats | None = None,
) -> list[str]:
    """C-STORE every item, in order; return the stored SOP Instance UIDs.

    ``contexts`` lists the (SOP class, transfer syntax) pairs to propose; with it, ``items``
    is consumed lazily, one dataset at a time. Without it, every item is read first to
    collect them. Raises a :class:`DimseError` subclass naming the cause and the instance
    (by UID only: no patient data in messages); its ``stored`` lists what was acknowledged.
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
    if len(contexts) > MAX_CONTEXTS:
        raise DimseError("more than 128 SOP class / transfer syntax combinations in one push")
    push = _Push(peer, list(contexts), options or StoreOptions(), stats or PushStats())
    try:
        for ds in datasets:
            push.send(ds)
    finally:
        push.close()
    return push.stored


class _Push:
    """One push: the current association, re-opened when it drops."""

    def __init__(self, peer: DicomPeer, contexts: list[tuple[str, str]], options: StoreOptions,
                 stats: PushStats) -> None:
        self.peer = peer
        self.contexts = contexts
        self.options = options
        self.stats = stats
        self.stored: list[str] = []
        self._assoc: Association | None = None
        self._guard: _ResponseGuard | None = None
        self._msg_id = 0

    def send(self, ds: Dataset) -> None:
        uid = str(ds.SOPInstanceUID)
        cause = ""
        for attempt in range(1, self.options.attempts + 1):
            if attempt > 1:
                self.stats.resent += 1
                time.sleep(self.options.retry_delay_s * (attempt - 1))
            assoc, guard = self._open()
            code, cause = self._send_once(assoc, guard, ds)
            if code is None:
                log.warning("C-STORE to %s: %s; sending the instance again on a fresh "
                            "association (attempt %d of %d)", self.peer, cause, attempt + 1,
                            self.options.attempts)
                self.stats.causes.append(cause)
                self._drop()
                continue
            if code == SUCCESS or code in STORED_WITH_WARNING:
                self.stored.append(uid)
                return
            raise StoreRefused(f"{self.peer} refused C-STORE of {uid} with status "
                               f"{code:#06x} ({_status_meaning(code)})", status=code,
                               sop_instance_uid=uid, stored=tuple(self.stored))
        raise NoResponse(f"C-STORE of {uid} to {self.peer} was not acknowledged on "
                         f"{self.options.attempts} associations (last: {cause})",
                         sop_instance_uid=uid, stored=tuple(self.stored))

    def _send_once(self, assoc: Association, guard: _ResponseGuard, ds: Dataset
                   ) -> tuple[int | None, str]:
        """The peer's status code, or None and why there is none."""
        self._msg_id = self._msg_id % 0xFFFF + 1
        guard.expect(self._msg_id)
        started = time.monotonic()
        try:
            status = assoc.send_c_store(ds, msg_id=self._msg_id)
        except RuntimeError:  # the association dropped since the last instance
            return None, "the association was closed before the instance was sent"
        except ValueError as exc:
            # No accepted presentation context, or the dataset cannot be encoded in it.
            raise DimseError(f"cannot send {ds.SOPInstanceUID} to {self.peer}: {exc}",
                             sop_instance_uid=str(ds.SOPInstanceUID),
                             stored=tuple(self.stored)) from None
        finally:
            seen = guard.done()
        if "Status" in status:
            return int(status.Status), ""
        if seen is not None:
            # The peer answered, but the answer never reached send_c_store (reactor race).
            return seen, ""
        if assoc.is_aborted or not assoc.is_established:
            if time.monotonic() - started >= self.options.dimse_timeout_s:
                return None, f"no response within {self.options.dimse_timeout_s:g} s"
            return None, "the association was aborted before the response"
        return None, "the peer sent an invalid response"

    def _open(self) -> tuple[Association, _ResponseGuard]:
        if self._assoc is not None and self._guard is not None and self._assoc.is_established:
            return self._assoc, self._guard
        self._drop()
        ae = AE(ae_title=self.peer.calling_aet)
        ae.acse_timeout = self.options.acse_timeout_s
        ae.dimse_timeout = self.options.dimse_timeout_s
        ae.network_timeout = self.options.network_timeout_s
        for sop_class, syntax in self.contexts:
            ae.add_requested_context(sop_class, [syntax])
        guard = _ResponseGuard(self.stats)
        connected = threading.Event()
        handlers: list[Any] = [(evt.EVT_CONN_OPEN, lambda _event: connected.set()),
                               (evt.EVT_DIMSE_RECV, guard.on_receive)]
        assoc = ae.associate(self.peer.host, self.peer.port, ae_title=self.peer.called_aet,
                             evt_handlers=handlers)
        if not assoc.is_established:
            guard.close()
            raise self._refusal(assoc, connected.is_set())
        _no_delay(assoc)
        guard.attach(assoc)
        self.stats.associations += 1
        self._assoc, self._guard = assoc, guard
        return assoc, guard

    def _refusal(self, assoc: Association, connected: bool) -> DimseError:
        """Why the association was not established, in the peer's own terms."""
        stored = tuple(self.stored)
        if assoc.is_rejected:
            answer = assoc.acceptor.primitive
            reason = answer.reason_str if answer is not None else "no reason given"
            kind = answer.result_str if answer is not None else "Rejected"
            hint = ""
            unknown = answer is not None and (answer.result_source, answer.diagnostic) == (1, 3)
            if unknown:
                hint = (f"; {self.peer.calling_aet} (this host) is not a registered peer "
                        f"of {self.peer.called_aet}")
            elif answer is not None and (answer.result_source, answer.diagnostic) == (1, 7):
                hint = f"; the peer's AE title is not {self.peer.called_aet}"
            return AssociationRejected(f"{self.peer} rejected the association ({kind}: "
                                       f"{reason}){hint}", stored=stored,
                                       calling_aet_unknown=unknown)
        if not connected:
            return PeerUnreachable(f"cannot connect to {self.peer}: "
                                   f"{_connect_error(self.peer, self.options)}", stored=stored)
        if assoc.rejected_contexts and not assoc.accepted_contexts:
            return DimseError(f"{self.peer} accepts none of the proposed SOP classes and "
                              "transfer syntaxes", stored=stored)
        return PeerUnreachable(f"{self.peer} accepted the connection but did not answer the "
                               f"association request within {self.options.acse_timeout_s:g} s",
                               stored=stored)

    def _drop(self) -> None:
        if self._assoc is not None:
            if self._assoc.is_established:
                self._assoc.abort()
            self._assoc = None
        if self._guard is not None:
            self._guard.close()
            self._guard = None

    def close(self) -> None:
        if self._assoc is not None and self._assoc.is_established:
            self._assoc.release()
        self._assoc = None
        self._drop()


class _ResponseGuard:
    """Hands back a C-STORE response that pynetdicom's reactor thread took.

    pynetdicom 3.0 pauses its reactor during ``Association.send_c_store`` by clearing a
    checkpoint and spinning until ``_is_paused`` is true; that flag can be stale, so the
    reactor may take the response off the DIMSE queue, log "Received unexpected C-STORE
    service message" and drop it, leaving ``send_c_store`` waiting for the DIMSE timeout
    (seen about once in 1,500 instances under CPU load). Every decoded response is seen
    here first (``EVT_DIMSE_RECV``); one that has not reached ``send_c_store`` after
    :data:`RESCUE_AFTER_S` is put back on the queue. A copy put back in vain stays in the
    queue until :meth:`expect` empties it before the next request, when no response can be
    outstanding.
    """

    def __init__(self, stats: PushStats) -> None:
        self._stats = stats
        self._cond = threading.Condition()
        self._queue: queue.Queue[Any] | None = None
        self._awaited: int | None = None
        self._seen: tuple[float, int | None, Any, int] | None = None  # at, context, rsp, status
        self._seen_status: int | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def attach(self, assoc: Association) -> None:
        self._queue = assoc.dimse.msg_queue
        self._thread = threading.Thread(target=self._run, name="nadir-dimse-guard", daemon=True)
        self._thread.start()

    def expect(self, msg_id: int) -> None:
        with self._cond:
            for stale in _drain(self._queue):
                log.debug("dropped a stale DIMSE message %r", stale)
            self._awaited, self._seen, self._seen_status = msg_id, None, None

    def done(self) -> int | None:
        """Stop waiting; return the status the peer sent for the awaited message, if any."""
        with self._cond:
            status, self._awaited, self._seen = self._seen_status, None, None
            return status

    def on_receive(self, event: evt.Event) -> None:
        command = getattr(event.message, "command_set", None)
        if command is None or command.get("CommandField") != C_STORE_RSP:
            return
        with self._cond:
            if command.get("MessageIDBeingRespondedTo") != self._awaited:
                return
            status = int(command.get("Status", -1))
            self._seen_status = status if status >= 0 else None
            self._seen = (time.monotonic(), event.message.context_id,
                          event.message.message_to_primitive(), status)
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._seen is None:
                    self._cond.wait()
                    continue
                wait = self._seen[0] + RESCUE_AFTER_S - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                if self._awaited is not None and self._queue is not None \
                        and self._queue.empty():
                    self._queue.put((self._seen[1], self._seen[2]))
                    self._stats.rescued += 1
                    log.info("handed back a C-STORE response taken by pynetdicom's reactor")
                self._seen = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


def _drain(messages: queue.Queue[Any] | None) -> Iterator[Any]:
    while messages is not None:
        try:
            yield messages.get_nowait()
        except queue.Empty:
            return


def _no_delay(assoc: Association) -> None:
    """Turn Nagle's algorithm off on the association's socket.

    Each C-STORE ends with a small PDU; with Nagle on, it waits for the peer's delayed ACK
    (~40 ms on Linux), which caps a push at ~20 instances/s.
    """
    sock = getattr(getattr(assoc.dul, "socket", None), "socket", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _connect_error(peer: DicomPeer, options: StoreOptions) -> str:
    """The system's reason a TCP connection fails (pynetdicom only logs it)."""
    try:
        with socket.create_connection((peer.host, peer.port), timeout=options.acse_timeout_s):
            return "the connection failed, then succeeded when tried again"
    except TimeoutError:
        return f"no answer within {options.acse_timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _status_meaning(code: int) -> str:
    """PS3.4 B.2.3 and PS3.7 C: what a C-STORE failure status means."""
    if 0xA700 <= code <= 0xA7FF:
        return "out of resources"
    if 0xA900 <= code <= 0xA9FF:
        return "data set does not match SOP class"
    if 0xC000 <= code <= 0xCFFF:
        return "cannot understand"
    return {0x0117: "invalid SOP instance", 0x0122: "SOP class not supported",
            0x0124: "not authorised", 0x0210: "duplicate invocation",
            0x0211: "unrecognised operation", 0x0212: "mistyped argument"
            }.get(code, "failure")
