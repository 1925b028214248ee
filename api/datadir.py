"""The data folder: Nadir's database, Orthanc's storage, secrets and upload spool, all PHI.

Nadir's commands run with umask 077, so whatever they and their Orthanc create in it is
0700 (folders) or 0600 (files). A folder made by an older version is closed here: the data
folder itself and its direct entries lose every group and other permission, which makes
the deeper files unreachable for other users without walking millions of DICOM files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Files and folders created by Nadir's processes: owner only.
PRIVATE_UMASK = 0o077


def private_data_dir(path: Path) -> Path:
    """Create or close the data folder for its owner; its absolute path.

    A shared folder (see :func:`is_shared`) is left as it is."""
    folder = path.resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if is_shared(folder):
        return folder
    _close(folder, info.st_mode)
    for entry in folder.iterdir():
        entry_info = entry.lstat()
        if entry_info.st_uid == os.geteuid() and not stat.S_ISLNK(entry_info.st_mode):
            _close(entry, entry_info.st_mode)
    return folder


def is_shared(folder: Path) -> bool:
    """/tmp itself, or someone else's folder: closing it would break other users."""
    info = folder.stat()
    return bool(info.st_mode & stat.S_ISVTX) or info.st_uid != os.geteuid()


def _close(path: Path, mode: int) -> None:
    if mode & 0o077:
        path.chmod(stat.S_IMODE(mode) & 0o700)
