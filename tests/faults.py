"""Helpers of the fault suite (tests/integration/test_faults*.py and bench/faults.py): the
index compared with Orthanc's own holdings, and a PostgreSQL server of the test's own."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.conftest import free_ports


@dataclass(frozen=True)
class IndexCheck:
    """The index against Orthanc: ``lost`` are in Orthanc but not indexed, ``duplicated``
    index rows beyond one per instance, ``phantom`` indexed but not in Orthanc."""

    orthanc: int
    indexed: int
    lost: int
    duplicated: int
    phantom: int
    series_counts_off: int  # series whose recorded instance count differs from Orthanc's

    @property
    def consistent(self) -> bool:
        return not (self.lost or self.duplicated or self.phantom or self.series_counts_off)


def index_against_orthanc(database_url: str, client: Any) -> IndexCheck:
    """Compare every instance and series count of the index with what Orthanc holds."""
    uids_by_series = _orthanc_instances(client)
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT s.series_instance_uid, i.sop_instance_uid FROM instances i "
                "JOIN series s ON s.id = i.series_pk")).all()
            counts = dict(conn.execute(sa.text(
                "SELECT series_instance_uid, instance_count FROM series")).all())
    finally:
        engine.dispose()
    indexed = [sop for _, sop in rows]
    orthanc_uids = {sop for sops in uids_by_series.values() for sop in sops}
    off = sum(1 for uid, sops in uids_by_series.items() if counts.get(uid) != len(sops))
    off += sum(1 for uid in counts if uid not in uids_by_series)
    return IndexCheck(orthanc=len(orthanc_uids), indexed=len(indexed),
                      lost=len(orthanc_uids - set(indexed)),
                      duplicated=len(indexed) - len(set(indexed)),
                      phantom=len(set(indexed) - orthanc_uids), series_counts_off=off)


def _orthanc_instances(client: Any) -> dict[str, set[str]]:
    series_uid = {s["ID"]: s["MainDicomTags"]["SeriesInstanceUID"]
                  for s in client.resources("series")}
    found: dict[str, set[str]] = {uid: set() for uid in series_uid.values()}
    for instance in client.resources("instances"):
        parent = series_uid.get(instance["ParentSeries"])
        if parent is not None:
            found[parent].add(instance["MainDicomTags"]["SOPInstanceUID"])
    return found


class PrivatePostgres:
    """A PostgreSQL server of its own, in a temporary folder, for scenarios that restart
    the server: the shared server on port 5432 serves other test runs at the same time."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        self.available = bool(bins) and os.geteuid() == 0 and _has_user("postgres") \
            and shutil.which("runuser") is not None
        self._bin = bins[-1].parent if bins else Path()
        self.folder = Path(tempfile.mkdtemp(prefix="nadir-pg-"))
        [self.port] = free_ports(1)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, timeout=120)

    def _ctl(self, *args: str) -> None:
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.folder / "data"),
                  "-l", str(self.folder / "server.log"), "-w", *args)

    def start(self) -> None:
        if not (self.folder / "data").exists():
            shutil.chown(self.folder, "postgres", "postgres")
            self._run(str(self._bin / "initdb"), "-D", str(self.folder / "data"), "-A",
                      "trust", "-U", "postgres", "--no-sync")
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off", "start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, as on a real restart."""
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        try:
            self._ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
