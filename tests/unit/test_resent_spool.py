"""The spool of copies sent again (pacs/resent_spool.py): the UID read from the file meta,
the atomic and bounded write, the strict read, and the C-STORE filter as Orthanc's Python
plugin runs it, on a small stand-in for the ``orthanc`` module (same calls, same
exception)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import ImplicitVRLittleEndian

from pacs.process import PYTHON_PLUGIN, RESENT_SPOOL_SCRIPT, OrthancConfig, OrthancProcess
from pacs.resent_spool import (
    PARTIAL,
    CopyHeader,
    SpoolError,
    install,
    prepare,
    read_copy,
    read_header,
    remove_stale_partials,
    sop_instance_uid,
    spool_copy,
    spooled,
    usage,
)
from tests.factories import tiny_ct_series, to_bytes

HELD = "6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12"


def test_the_uid_is_read_from_the_file_meta_whatever_the_data_set_syntax() -> None:
    ds = tiny_ct_series(1)[0]
    assert sop_instance_uid(to_bytes(ds)) == ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    assert sop_instance_uid(to_bytes(ds)) == ds.SOPInstanceUID
    data = to_bytes(ds)
    assert sop_instance_uid(data[128:]) is None  # no preamble: not Part 10
    assert sop_instance_uid(b"\0" * 128 + b"DICM") is None
    assert sop_instance_uid(b"") is None
    # A value that is not a UID is not looked up.
    bad = data.replace(ds.SOPInstanceUID.encode(), b"1.2.x" + b"9" * (len(
        ds.SOPInstanceUID) - 5), 1)
    assert sop_instance_uid(bad) is None


def test_a_copy_is_spooled_whole_and_read_back(tmp_path: Path) -> None:
    prepare(tmp_path)
    assert (tmp_path / PARTIAL).stat().st_mode & 0o077 == 0
    header = CopyHeader(HELD, "STORESCU", "1.2.840.10008.1.2.1")
    path = spool_copy(tmp_path, b"DICOM BYTES\n\x00", header)
    assert path is not None and path.stat().st_mode & 0o077 == 0
    assert spooled(tmp_path) == [path] and list((tmp_path / PARTIAL).iterdir()) == []
    assert read_header(path) == header
    assert read_copy(path) == (header, b"DICOM BYTES\n\x00")
    later = spool_copy(tmp_path, b"x", CopyHeader(HELD))
    assert spooled(tmp_path) == [path, later]  # oldest first
    assert usage(tmp_path)[0] == 2
    assert spooled(tmp_path / "missing") == []


def test_a_full_spool_takes_no_more(tmp_path: Path) -> None:
    prepare(tmp_path)
    header = CopyHeader(HELD)
    assert spool_copy(tmp_path, b"a" * 10, header, max_files=2) is not None
    assert spool_copy(tmp_path, b"b" * 10, header, max_files=2) is not None
    assert spool_copy(tmp_path, b"c", header, max_files=2) is None
    assert spool_copy(tmp_path, b"c" * 100, header, max_bytes=150) is None
    assert len(spooled(tmp_path)) == 2


def test_stale_partial_copies_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    prepare(tmp_path)
    old, fresh = tmp_path / PARTIAL / "old.copy", tmp_path / PARTIAL / "fresh.copy"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (1, 1))
    assert remove_stale_partials(tmp_path, older_than_s=3600) == 1
    assert not old.exists() and fresh.exists()
    assert spooled(tmp_path) == []  # a partial copy is never offered to Nadir


@pytest.mark.parametrize("first_line", [
    b"no header", b"{}\n", b"[]\n", b"not json\n",
    b'{"instance": "x", "remote_aet": null, "transfer_syntax": null}\n',
    b'{"instance": "' + HELD.encode() + b'", "remote_aet": "' + b"A" * 17
    + b'", "transfer_syntax": null}\n',
    b'{"instance": "' + HELD.encode() + b'", "remote_aet": null, "transfer_syntax": "1;2"}\n',
    b'{"instance": "' + HELD.encode() + b'", "remote_aet": 3, "transfer_syntax": null}\n',
    b'{"instance": "' + HELD.encode() + b'", "remote_aet": null, "transfer_syntax": null,'
    b' "other": 1}\n',
    b'{"instance": "' + b"a" * 2000 + b'"}\n',
])
def test_a_file_the_plugin_did_not_write_is_refused(tmp_path: Path, first_line: bytes) -> None:
    path = tmp_path / "x.copy"
    path.write_bytes(first_line + b"rest")
    with pytest.raises(SpoolError):
        read_header(path)


class FakeOrthanc:
    """What pacs/resent_spool.py asks of orthanc-python 4.0's ``orthanc`` module."""

    class OrthancException(Exception):
        pass

    def __init__(self, config: dict[str, Any], held: dict[str, str]) -> None:
        self._config, self._held = config, held
        self.filter: Any = None
        self.log: list[str] = []

    def GetConfiguration(self) -> str:  # noqa: N802 (the module's own names)
        return json.dumps(self._config)

    def LookupInstance(self, uid: str) -> str:  # noqa: N802
        if uid not in self._held:
            raise self.OrthancException(-1, "Internal error")
        return self._held[uid]

    def RegisterIncomingCStoreInstanceFilter(self, callback: Any) -> None:  # noqa: N802
        self.filter = callback

    def LogWarning(self, text: str) -> None:  # noqa: N802
        self.log.append(text)


class FakeInstance:
    def __init__(self, data: bytes, aet: str = "STORESCU") -> None:
        self._data, self._aet = data, aet

    def GetInstanceData(self) -> bytes:  # noqa: N802
        return self._data

    def GetInstanceRemoteAet(self) -> str:  # noqa: N802
        return self._aet

    def GetInstanceTransferSyntaxUid(self) -> str:  # noqa: N802
        return "1.2.840.10008.1.2.1"


def test_the_filter_spools_copies_of_held_instances_only_and_never_refuses(
        tmp_path: Path) -> None:
    held, new = tiny_ct_series(2, patient_id="SECRET-ID")
    spool = tmp_path / "spool"
    orthanc = FakeOrthanc({"Nadir": {"ResentSpoolDirectory": str(spool),
                                     "ResentSpoolMaxFiles": 1}}, {held.SOPInstanceUID: HELD})
    install(orthanc)
    assert orthanc.filter(FakeInstance(to_bytes(new))) == 0  # not held: stored, not spooled
    assert spooled(spool) == []
    assert orthanc.filter(FakeInstance(to_bytes(held))) == 0  # held: stored as Orthanc does
    [copy] = spooled(spool)
    assert read_copy(copy) == (CopyHeader(HELD, "STORESCU", "1.2.840.10008.1.2.1"),
                               to_bytes(held))
    # Full (one copy at most here): let through, and said with a count only.
    assert orthanc.filter(FakeInstance(to_bytes(held))) == 0
    assert len(spooled(spool)) == 1 and "1 copies went unnoticed" in orthanc.log[-1]
    # Anything failing inside is logged by its type and the instance is stored.
    for broken in (FakeInstance(b"garbage"), object()):
        assert orthanc.filter(broken) == 0
    assert "AttributeError" in orthanc.log[-1]
    text = "\n".join(orthanc.log)
    assert held.SOPInstanceUID not in text and "SECRET-ID" not in text


def test_without_a_spool_folder_the_plugin_registers_nothing(tmp_path: Path) -> None:
    orthanc = FakeOrthanc({}, {})
    install(orthanc)
    assert orthanc.filter is None and "not noticed" in orthanc.log[0]


def test_the_config_loads_the_python_plugin_only_with_a_spool(tmp_path: Path) -> None:
    spool = tmp_path / "w" / "resent-spool"
    config = OrthancConfig(storage_dir=tmp_path / "w", http_port=8042, dicom_port=4242,
                           username="nadir", password="pw", resent_spool_dir=spool)
    settings = config.runtime_settings()
    assert settings["Nadir"] == {"ResentSpoolDirectory": str(spool)}
    assert settings["PythonScript"] == str(RESENT_SPOOL_SCRIPT)
    plugins: list[str] = settings["Plugins"]  # type: ignore[assignment]
    assert any(p.endswith(PYTHON_PLUGIN) for p in plugins)
    # Nothing posts from Orthanc's Lua for a copy: no Lua timeout, no Lua filter (Orthanc
    # 1.10.1 hands it every instance as a Lua table, and crashed on sequences 9 deep).
    assert "HttpTimeout" not in settings
    OrthancProcess(config).write_config()
    written = json.loads((tmp_path / "w" / "config" / "orthanc.json").read_text())
    assert not any("ReceivedInstanceFilter" in Path(script).read_text()
                   for script in written["LuaScripts"])
    plain = OrthancConfig(storage_dir=tmp_path / "p", http_port=8042, dicom_port=4242,
                          username="nadir", password="pw").runtime_settings()
    assert "PythonScript" not in plain and "Nadir" not in plain
    plain_plugins: list[str] = plain["Plugins"]  # type: ignore[assignment]
    assert not any(p.endswith(PYTHON_PLUGIN) for p in plain_plugins)
