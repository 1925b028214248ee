"""The C-STORE SCU against real peers: a pynetdicom storage SCP that misbehaves on cue,
and a real Orthanc pushed to many times while another process burns a core."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage

from pacs.dimse import DicomPeer, PushStats, StoreOptions, store
from pacs.errors import (
    AssociationRejected,
    NoResponse,
    PeerUnreachable,
    StoreRefused,
)
from tests.conftest import PYNETDICOM_AET, free_ports, wait_until
from tests.factories import tiny_ct_series

pytestmark = pytest.mark.integration
SCP_AET = "TESTSCP"
# Quick retries; an answer the SCP does send is waited for as long as in production, so a
# loaded machine cannot turn a slow answer into a timeout the test did not ask for.
FAST = StoreOptions(retry_delay_s=0.05)


class StorageScp:
    """A pynetdicom storage SCP; ``behave(n, ds)`` decides the answer to the n-th request
    (counted from 1 over the SCP's life): a status, or None to abort the association."""

    def __init__(self, behave: Callable[[int, Dataset, Any], int | None] | None = None,
                 *, calling_aets: list[str] | None = None) -> None:
        self.received: list[str] = []
        self.associations = 0
        self._behave = behave or (lambda n, ds, assoc: 0x0000)
        self._lock = threading.Lock()
        ae = AE(ae_title=SCP_AET)
        ae.add_supported_context(CTImageStorage, ["1.2.840.10008.1.2.1"])
        if calling_aets:
            ae.require_calling_aet = calling_aets
        [self.port] = free_ports(1)
        self._server = ae.start_server(
            ("127.0.0.1", self.port), block=False,
            evt_handlers=[(evt.EVT_C_STORE, self._on_store),
                          (evt.EVT_ESTABLISHED, self._on_established)])

    def _on_established(self, event: Any) -> None:
        with self._lock:
            self.associations += 1

    def _on_store(self, event: Any) -> int:
        with self._lock:
            ds = event.dataset
            self.received.append(str(ds.SOPInstanceUID))
            n = len(self.received)
        answer = self._behave(n, ds, event.assoc)
        if answer is None:
            event.assoc.abort()
            return 0xC000  # never reaches the SCU: the association is gone
        return answer

    def peer(self, calling_aet: str = "NADIR-SCU") -> DicomPeer:
        return DicomPeer("127.0.0.1", self.port, SCP_AET, calling_aet)

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def scp_factory() -> Iterator[Callable[..., StorageScp]]:
    started: list[StorageScp] = []

    def make(*args: Any, **kwargs: Any) -> StorageScp:
        scp = StorageScp(*args, **kwargs)
        started.append(scp)
        return scp

    yield make
    for scp in started:
        scp.close()


def _uids(series: list[Dataset]) -> list[str]:
    return [str(ds.SOPInstanceUID) for ds in series]


def test_a_response_taken_by_the_reactor_is_handed_back(
    scp_factory: Callable[..., StorageScp]
) -> None:
    thief_waits = threading.Event()

    def answer_once_the_thief_waits(n: int, ds: Dataset, assoc: Any) -> int:
        """The first answer leaves the SCP only once the thief waits on the queue, so the
        thief takes a response however late its thread is scheduled."""
        if n == 1:
            thief_waits.wait(30)
        return 0x0000

    scp = scp_factory(answer_once_the_thief_waits)
    series = tiny_ct_series(150)
    stop = threading.Event()
    taken: list[Any] = []

    def thief() -> None:
        """Do what pynetdicom's reactor thread sometimes does: take the next response off
        the association's DIMSE queue before send_c_store() reads it, and drop it."""
        while not stop.is_set():
            for thread in threading.enumerate():
                if isinstance(thread, Association) and thread.is_requestor \
                        and thread.is_established:
                    queue = thread.dimse.msg_queue
                    thief_waits.set()
                    taken.append(queue.get(timeout=30))
                    return
            time.sleep(0.001)

    threading.Thread(target=thief, daemon=True).start()
    stats = PushStats()
    try:
        stored = store(scp.peer(), series, stats=stats)
    finally:
        stop.set()
    assert stored == _uids(series)
    assert len(taken) == 1
    # Every taken response was handed back. pynetdicom's own reactor may take one more
    # under load, and a response read late may be put back in vain: both count as rescued,
    # so how often that happens is not asserted.
    assert stats.rescued >= len(taken)
    # One association: a response not handed back leaves send_c_store() waiting for the 60 s
    # DIMSE timeout, after which pynetdicom aborts the association and a second one is
    # opened (checked by disabling the hand-back). Every instance was stored once.
    assert (stats.resent, stats.associations, stats.causes) == (0, 1, [])
    assert Counter(scp.received) == Counter(_uids(series))


def test_an_aborted_association_resends_the_instance_on_a_fresh_one(
    scp_factory: Callable[..., StorageScp]
) -> None:
    scp = scp_factory(lambda n, ds, assoc: None if n == 4 else 0x0000)
    series = tiny_ct_series(8)
    stats = PushStats()
    assert store(scp.peer(), series, options=FAST, stats=stats) == _uids(series)
    assert (stats.resent, stats.associations, scp.associations) == (1, 2, 2)
    # The fourth instance arrived twice (its first answer was lost), every other once.
    assert Counter(scp.received) == Counter({**{u: 1 for u in _uids(series)},
                                             series[3].SOPInstanceUID: 2})


def test_a_missing_response_is_a_timeout_then_a_resend(
    scp_factory: Callable[..., StorageScp]
) -> None:
    def silent_once(n: int, ds: Dataset, assoc: Any) -> int:
        if n == 2:
            # No answer until the SCU has given up on it and opened a second association
            # (a sleep beyond its timeout would assume the other answers come quickly).
            wait_until(lambda: scp.associations >= 2, timeout=120)
        return 0x0000

    scp = scp_factory(silent_once)
    series = tiny_ct_series(3)
    stats = PushStats()
    options = StoreOptions(dimse_timeout_s=3.0, retry_delay_s=0.05)
    assert store(scp.peer(), series, options=options, stats=stats) == _uids(series)
    assert stats.resent == 1 and stats.causes == ["no response within 3 s"]
    assert Counter(scp.received) == Counter({**{u: 1 for u in _uids(series)},
                                             series[1].SOPInstanceUID: 2})


def test_retries_are_bounded(scp_factory: Callable[..., StorageScp]) -> None:
    scp = scp_factory(lambda n, ds, assoc: None if n >= 2 else 0x0000)
    series = tiny_ct_series(3)
    with pytest.raises(NoResponse) as raised:
        store(scp.peer(), series, options=FAST)
    assert raised.value.stored == (series[0].SOPInstanceUID,)
    assert raised.value.sop_instance_uid == series[1].SOPInstanceUID
    assert "not acknowledged on 3 associations" in str(raised.value)
    assert scp.received.count(series[1].SOPInstanceUID) == 3
    assert series[2].SOPInstanceUID not in scp.received


def test_only_a_refusal_status_ends_the_push_at_once(
    scp_factory: Callable[..., StorageScp]
) -> None:
    scp = scp_factory(lambda n, ds, assoc: 0xA900 if n == 3 else 0x0000)
    series = tiny_ct_series(5)
    with pytest.raises(StoreRefused) as raised:
        store(scp.peer(), series, options=FAST)
    error = raised.value
    assert (error.status, error.retryable) == (0xA900, False)
    assert "0xa900" in str(error) and "does not match SOP class" in str(error)
    assert "registered" not in str(error)
    assert error.stored == tuple(_uids(series[:2]))
    assert scp.received == _uids(series[:3])  # refused once, never sent again


def test_a_rejected_association_names_the_peer_registration(
    scp_factory: Callable[..., StorageScp]
) -> None:
    scp = scp_factory(calling_aets=["SOMEONE-ELSE"])
    with pytest.raises(AssociationRejected) as raised:
        store(scp.peer("NADIR-SCU"), tiny_ct_series(1), options=FAST)
    message = str(raised.value)
    assert raised.value.calling_aet_unknown is True
    assert "Calling AE title not recognised" in message
    assert "NADIR-SCU (this host) is not a registered peer of TESTSCP" in message


def test_nothing_listening_is_named_as_such() -> None:
    [port] = free_ports(1)
    with pytest.raises(PeerUnreachable) as raised:
        store(DicomPeer("127.0.0.1", port, "NOBODY"), tiny_ct_series(1), options=FAST)
    assert "Connection refused" in str(raised.value)
    assert "registered" not in str(raised.value)


PUSHES, INSTANCES = 4, 150


def test_many_pushes_under_cpu_load_lose_nothing(orthanc: Any) -> None:
    """Scaled down for the suite; bench/dimse_pushes.py runs 10 pushes of 756 objects."""
    peer = DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet,
                     PYNETDICOM_AET)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    sent: list[str] = []
    failures: list[str] = []
    try:
        for i in range(PUSHES):
            series = tiny_ct_series(INSTANCES, patient_id=f"LOAD-{i}")
            try:
                sent += store(peer, series)
            except NoResponse as exc:  # anything else is a bug, and fails the test
                failures.append(str(exc))
    finally:
        burner.kill()
        burner.wait()
    assert failures == []
    assert len(set(sent)) == PUSHES * INSTANCES
    with orthanc.client() as client:
        assert client.system() and len(client.resources("instances")) == PUSHES * INSTANCES
