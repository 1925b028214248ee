"""The data folder is closed to other users, also when an older version made it."""

from __future__ import annotations

import stat
from pathlib import Path

from api.datadir import is_shared, private_data_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_folder_is_private(tmp_path: Path) -> None:
    folder = private_data_dir(tmp_path / "a" / "var")
    assert _mode(folder) == 0o700 and folder.is_absolute()


def test_an_old_open_folder_is_closed_at_its_top_levels(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    (folder / "orthanc" / "storage").mkdir(parents=True)
    for path in (folder, folder / "orthanc", folder / "orthanc" / "storage"):
        path.chmod(0o755)
    db = folder / "nadir.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    deep = folder / "orthanc" / "storage" / "index"
    deep.write_bytes(b"")
    deep.chmod(0o644)
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o755)
    (folder / "link").symlink_to(outside)
    private_data_dir(folder)
    assert (_mode(folder), _mode(db), _mode(folder / "orthanc")) == (0o700, 0o600, 0o700)
    # Deeper entries keep their modes but nobody else can reach them any more.
    assert _mode(deep) == 0o644
    assert _mode(outside) == 0o755  # a symlink's target is never changed


def test_a_sticky_shared_folder_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    assert is_shared(shared)
    private_data_dir(shared)
    assert _mode(shared) == 0o1777
    assert not is_shared(tmp_path)  # pytest's own folder belongs to this user
