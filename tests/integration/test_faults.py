"""Fault suite: each scenario ends with the index holding exactly what Orthanc holds (no
instance lost, none duplicated, none left over), checked against Orthanc's own lists.

Scaled down for the suite (two studies of 100 small slices); bench/faults.py runs each
scenario several times on two 300-slice studies. Nadir killed mid-ingest is
tests/integration/test_cli_and_crash.py; PostgreSQL restarted mid-ingest is
tests/integration/test_fault_postgres_restart.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STORESCU_AET, orthanc_says, orthanc_verbose, storescu, wait_until
from tests.factories import tiny_ct_series, write_all
from tests.faults import IndexCheck, index_against_orthanc

pytestmark = pytest.mark.integration
SLICES = 100


def _two_studies(tmp_path: Path, patient_id: str) -> list[Path]:
    files: list[Path] = []
    for i, date in enumerate(("20260105", "20260302")):
        series = tiny_ct_series(SLICES, patient_id=patient_id, study_date=date)
        files += write_all(series, tmp_path / f"study{i}")
    return files


def _storescu_in_background(orthanc: Any, files: list[Path],
                            log: Path | None = None) -> subprocess.Popen[bytes]:
    """storescu sending ``files``; its messages go to ``log`` (a failed push names why)."""
    if shutil.which("storescu") is None:
        pytest.skip("dcmtk storescu is not installed")
    with (open(log, "wb") if log else open(os.devnull, "wb")) as err:
        return subprocess.Popen(
            ["storescu", "-aet", STORESCU_AET, "-aec", orthanc.config.aet, "127.0.0.1",
             str(orthanc.config.dicom_port), *map(str, files)],
            env=dict(os.environ, TCP_NODELAY="1"), stdout=subprocess.DEVNULL, stderr=err)


def _in_orthanc(orthanc: Any) -> int:
    with orthanc.client() as client:
        return int(client.statistics()["CountInstances"])


def _consistent(database_url: str, orthanc: Any, expected: int) -> IndexCheck | None:
    with orthanc.client() as client:
        check = index_against_orthanc(database_url, client)
    return check if check.consistent and check.orthanc == expected else None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_orthanc_killed_mid_ingest_then_restarted(
    service_factory: Any, orthanc: Any, database_url: str, tmp_path: Path
) -> None:
    service_factory(orthanc)
    files = _two_studies(tmp_path, "KILL-ORTHANC")
    push = _storescu_in_background(orthanc, files)
    # Half of the instances are in: SIGKILL, no chance to finish a write or a transaction.
    wait_until(lambda: _in_orthanc(orthanc) >= SLICES, timeout=60, interval=0.01)
    orthanc.stop(kill=True)
    assert push.wait(timeout=60) != 0  # the sender saw the failure...
    orthanc.start()
    storescu(orthanc, files)  # ...and sends the whole pair again, as a modality does
    check = wait_until(lambda: _consistent(database_url, orthanc, 2 * SLICES), timeout=60,
                       interval=0.2)
    assert check.indexed == 2 * SLICES


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_same_studies_sent_twice_at_once(
    service_factory: Any, orthanc: Any, database_url: str, tmp_path: Path
) -> None:
    service_factory(orthanc)
    # Orthanc says why it ends an association (a DIMSE failure, a timeout) only at its
    # verbose level: a failed push below shows it.
    orthanc_verbose(orthanc)
    files = _two_studies(tmp_path, "TWICE-AT-ONCE")
    logs = [tmp_path / f"storescu-{i}.log" for i in range(2)]
    pushes = [_storescu_in_background(orthanc, files, log) for log in logs]
    codes = [p.wait(timeout=120) for p in pushes]
    # storescu 3.6.7 exits 10 when a C-STORE failed with no response status (the peer
    # aborted the association), else with the status's high byte: its own messages, and
    # Orthanc's about associations and stores, say what happened.
    assert codes == [0, 0], {
        **{str(log.name): log.read_text(errors="replace")[-2000:]
           for log, code in zip(logs, codes, strict=True) if code},
        "orthanc": orthanc_says(orthanc)}
    check = wait_until(lambda: _consistent(database_url, orthanc, 2 * SLICES), timeout=60,
                       interval=0.2)
    assert check.indexed == 2 * SLICES
