"""Copies sent again by C-STORE under a SOP Instance UID Orthanc already holds: Orthanc's
Python plugin spools each one to a folder, and Nadir drains the folder.

Orthanc answers such a C-STORE with success and keeps the first version
(``OverwriteInstances: false``), telling no one. This file is both ends of the spool:
Orthanc's Python plugin (Debian's ``orthanc-python`` 4.0) runs it as its ``PythonScript``,
and Nadir imports it to read what was spooled. It needs nothing but Python's standard
library, as Orthanc's embedded interpreter has nothing else.

Inside Orthanc, an ``IncomingCStoreInstanceFilter`` (orthanc-python 4.0,
``orthanc.RegisterIncomingCStoreInstanceFilter``; Orthanc >= 1.10) is called for every
instance received by C-STORE, before Orthanc decides to keep it, copies of held instances
included. It receives the instance as Orthanc will store it: its bytes
(``GetInstanceData``), the calling AE title and the transfer syntax, and no Lua table:
Orthanc 1.10.1 crashed converting an instance whose sequences nest 9 deep to Lua for the
earlier Lua ``ReceivedInstanceFilter``. The filter reads the SOP Instance UID from the file
meta information, asks Orthanc's index whether it holds it (``orthanc.LookupInstance``: a
read of the index, not a call of the REST API; about 0.5 ms), and only for one it holds
writes the copy's bytes with a one-line header into the spool, atomically (written under
``.partial/``, flushed to disk, then renamed). It never calls Orthanc's REST API, never
waits on Nadir and never refuses the C-STORE: any failure is logged by its type only (no
UIDs, no attributes) and the instance is stored as Orthanc would store it. Whether Nadir is
running or not, the copy waits in the spool; Nadir's ingest leader compares it with the
stored file, with the upload's rule (imaging/dicomfile.py), then removes it.

The spool is bounded (files and bytes, the ``Nadir`` section of Orthanc's configuration):
when full, further copies are not spooled and a warning says how many were let through.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: An Orthanc resource id: the SHA-1 of its DICOM identifiers in five groups of eight hex
#: digits (Orthanc Book, "Orthanc identifiers").
ORTHANC_ID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{8}){4}")
#: PS3.5 6.2: an AE title is at most 16 characters; a UID at most 64.
AE_TITLE_MAX = 16
UID_MAX = 64
#: A spooled copy's file name ends so; copies being written wait under PARTIAL.
SUFFIX = ".copy"
PARTIAL = ".partial"
#: The header line is JSON of a few short fields.
HEADER_MAX = 1024
DEFAULT_MAX_FILES = 10_000
DEFAULT_MAX_BYTES = 4 * 1024 ** 3
#: The section of Orthanc's configuration this plugin reads.
CONFIG_SECTION = "Nadir"
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_PREAMBLE = 128
#: PS3.5 7.1.2: explicit VRs with a 4-byte length (after two reserved bytes).
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC",
                       b"UN", b"UR", b"UT", b"UV"})


class SpoolError(Exception):
    """A spool file that is not one this module wrote (its reason, without its content)."""


def sop_instance_uid(data: bytes) -> str | None:
    """The Media Storage SOP Instance UID (0002,0003) of a Part 10 file, from its file meta
    information (PS3.10 7.1: explicit VR little endian after the preamble and "DICM").
    Orthanc writes the file meta of what it receives by C-STORE from the data set's own SOP
    Instance UID. None when the file has no such element."""
    if data[_PREAMBLE:_PREAMBLE + 4] != b"DICM":
        return None
    offset = _PREAMBLE + 4
    while offset + 8 <= len(data):
        group = int.from_bytes(data[offset:offset + 2], "little")
        element = int.from_bytes(data[offset + 2:offset + 4], "little")
        if group != 0x0002:
            return None
        vr = data[offset + 4:offset + 6]
        if vr in _LONG_VRS:
            length = int.from_bytes(data[offset + 8:offset + 12], "little")
            value = offset + 12
        else:
            length = int.from_bytes(data[offset + 6:offset + 8], "little")
            value = offset + 8
        if element == 0x0003:
            uid = data[value:value + length].rstrip(b"\x00 ").decode("ascii", "replace")
            return uid if len(uid) <= UID_MAX and _UID.fullmatch(uid) else None
        offset = value + length
    return None


@dataclass(frozen=True)
class CopyHeader:
    """What the plugin notes of a copy beside its bytes: the Orthanc id of the instance it
    holds under that SOP Instance UID, the AE title that sent the copy and its transfer
    syntax. No patient data."""

    instance: str
    remote_aet: str | None = None
    transfer_syntax: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.instance, str) or not ORTHANC_ID.fullmatch(self.instance):
            raise SpoolError("instance is not an Orthanc id")
        if self.remote_aet is not None and (not isinstance(self.remote_aet, str)
                                            or len(self.remote_aet) > AE_TITLE_MAX):
            raise SpoolError(f"remote_aet is not an AE title of at most {AE_TITLE_MAX} "
                             "characters")
        if self.transfer_syntax is not None and (
                not isinstance(self.transfer_syntax, str)
                or len(self.transfer_syntax) > UID_MAX
                or not _UID.fullmatch(self.transfer_syntax)):
            raise SpoolError("transfer_syntax is not a UID")

    def line(self) -> bytes:
        return json.dumps({"instance": self.instance, "remote_aet": self.remote_aet,
                           "transfer_syntax": self.transfer_syntax}).encode("ascii") + b"\n"


def spool_copy(directory: Path, data: bytes, header: CopyHeader, *,
               max_files: int = DEFAULT_MAX_FILES,
               max_bytes: int = DEFAULT_MAX_BYTES) -> Path | None:
    """Write one copy into the spool, atomically; None (nothing written) when the spool
    already holds ``max_files`` copies or this one would take it past ``max_bytes``."""
    files, size = usage(directory)
    line = header.line()
    if files >= max_files or size + len(line) + len(data) > max_bytes:
        return None
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}{SUFFIX}"
    partial = directory / PARTIAL / name
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(line)
            out.write(data)
            out.flush()
            # On disk before it is visible: a copy seen in the spool is whole.
            os.fsync(out.fileno())
        os.rename(partial, directory / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return directory / name


def prepare(directory: Path) -> None:
    """Make the spool and its partial folder (owner only)."""
    (directory / PARTIAL).mkdir(mode=0o700, parents=True, exist_ok=True)


def remove_stale_partials(directory: Path, *, older_than_s: float) -> int:
    """Remove partial copies left by an Orthanc that stopped while writing (several
    Orthanc servers may share one spool, so only old ones); how many."""
    removed = 0
    limit = time.time() - older_than_s
    try:
        with os.scandir(directory / PARTIAL) as entries:
            for entry in entries:
                if entry.stat(follow_symlinks=False).st_mtime < limit:
                    Path(entry.path).unlink(missing_ok=True)
                    removed += 1
    except FileNotFoundError:
        pass
    return removed


def usage(directory: Path) -> tuple[int, int]:
    """(copies, bytes) in the spool."""
    files = size = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                files += 1
                size += entry.stat(follow_symlinks=False).st_size
    return files, size


def spooled(directory: Path) -> list[Path]:
    """The whole copies in the spool, oldest first (their names start with the time)."""
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.name.endswith(SUFFIX)
                           and not entry.name.startswith(".")
                           and entry.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return []
    return [directory / name for name in names]


def read_header(path: Path) -> CopyHeader:
    """The header of a spooled copy; SpoolError when it is not one this module wrote."""
    with path.open("rb") as f:
        return _parse_header(f.readline(HEADER_MAX + 1))


def read_copy(path: Path) -> tuple[CopyHeader, bytes]:
    """The header and the bytes (a Part 10 file) of a spooled copy."""
    with path.open("rb") as f:
        header = _parse_header(f.readline(HEADER_MAX + 1))
        return header, f.read()


def _parse_header(line: bytes) -> CopyHeader:
    if len(line) > HEADER_MAX or not line.endswith(b"\n"):
        raise SpoolError("no header line")
    try:
        fields = json.loads(line)
    except ValueError:
        raise SpoolError("the header is not JSON") from None
    if not isinstance(fields, dict) or set(fields) != {"instance", "remote_aet",
                                                       "transfer_syntax"}:
        raise SpoolError("the header has other fields")
    return CopyHeader(fields["instance"], fields["remote_aet"], fields["transfer_syntax"])


# -- inside Orthanc ---------------------------------------------------------------------------

def install(orthanc: Any) -> None:
    """Register the C-STORE filter with Orthanc's Python plugin, configured by the
    ``Nadir`` section of Orthanc's configuration (``ResentSpoolDirectory``,
    ``ResentSpoolMaxFiles``, ``ResentSpoolMaxMB``). Without a spool folder, nothing."""
    section = json.loads(orthanc.GetConfiguration()).get(CONFIG_SECTION) or {}
    folder = section.get("ResentSpoolDirectory")
    if not folder:
        orthanc.LogWarning("Nadir: no ResentSpoolDirectory: C-STORE copies of instances "
                           "Orthanc holds are not noticed")
        return
    directory = Path(folder)
    prepare(directory)
    max_files = int(section.get("ResentSpoolMaxFiles", DEFAULT_MAX_FILES))
    max_bytes = int(section.get("ResentSpoolMaxMB", DEFAULT_MAX_BYTES // 1024 ** 2)) \
        * 1024 ** 2
    let_through = [0]

    def note(instance: Any) -> None:
        data = instance.GetInstanceData()
        uid = sop_instance_uid(data)
        if uid is None:
            return
        try:
            held = orthanc.LookupInstance(uid)
        except orthanc.OrthancException:
            return  # not held (or held twice, which Orthanc's index cannot name): stored
        aet = instance.GetInstanceRemoteAet() or None
        header = CopyHeader(held, aet if aet is None or len(aet) <= AE_TITLE_MAX else None,
                            instance.GetInstanceTransferSyntaxUid() or None)
        if spool_copy(directory, data, header, max_files=max_files,
                      max_bytes=max_bytes) is None:
            let_through[0] += 1
            orthanc.LogWarning(f"Nadir: the re-sent copy spool is full ({max_files} copies "
                               f"or {max_bytes // 1024 ** 2} MB): {let_through[0]} "
                               "copies went unnoticed")

    def on_cstore(instance: Any) -> int:
        try:
            note(instance)
        except Exception as exc:  # never refuse the C-STORE; no data in the log
            orthanc.LogWarning(f"Nadir: a C-STORE'd instance could not be checked for an "
                               f"earlier copy ({type(exc).__name__}); it is stored as "
                               "Orthanc would store it")
        return 0  # store it (Orthanc keeps the first version of a held instance)

    orthanc.RegisterIncomingCStoreInstanceFilter(on_cstore)


try:
    import orthanc as _orthanc  # only inside Orthanc's Python plugin
except ImportError:
    pass
else:
    install(_orthanc)
