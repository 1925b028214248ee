"""The loopback shim: a small preloaded library that keeps Orthanc's listeners on 127.0.0.1.

Orthanc 1.10 has no bind-address setting and listens on every interface. ``loopback_bind.c``
rewrites its wildcard binds on chosen ports to loopback (see the comment there). It is
compiled once with the system C compiler (``scripts/setup.sh`` does it at set-up) into a file
whose name carries the hash of its source, so a changed source is rebuilt.

``python -m pacs.bindshim`` builds it and prints where it is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pacs.errors import BindShimUnavailable

SOURCE = Path(__file__).with_name("loopback_bind.c")
#: The environment variable the shim reads: the ports whose wildcard binds go to loopback.
PORTS_VARIABLE = "NADIR_LOOPBACK_PORTS"


def _file_name() -> str:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return f"loopback_bind-{digest}.so"


def _folders() -> list[Path]:
    """Where the built shim may live: the virtualenv first, then the user's cache."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [Path(sys.prefix) / "lib" / "nadir", cache / "nadir"]


def built_shim() -> Path | None:
    """The shim already built from the current source, if any."""
    name = _file_name()
    for folder in _folders():
        if (folder / name).is_file():
            return folder / name
    return None


def ensure_shim() -> Path:
    """The built shim, compiling it when missing; BindShimUnavailable says why it cannot be."""
    found = built_shim()
    if found is not None:
        return found
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise BindShimUnavailable("no C compiler (cc) to build the loopback shim; "
                                  "install gcc (scripts/setup.sh does)")
    problems: list[str] = []
    for folder in _folders():
        try:
            return _compile(compiler, folder)
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"{folder}: {exc}")
    raise BindShimUnavailable("the loopback shim could not be built: " + "; ".join(problems))


def _compile(compiler: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _file_name()
    # Built under a temporary name and renamed: concurrent starts never load a partial file.
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".loopback_bind-", suffix=".so")
    os.close(handle)
    try:
        result = subprocess.run(
            [compiler, "-shared", "-fPIC", "-O2", "-o", partial, str(SOURCE), "-ldl"],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise subprocess.SubprocessError(result.stderr.strip() or
                                             f"{compiler} exited with {result.returncode}")
        os.chmod(partial, 0o755)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def loopback_environment(shim: Path, ports: Iterable[int]) -> dict[str, str]:
    """What to add to a child's environment so its wildcard binds on ``ports`` stay local."""
    preload = " ".join(p for p in (str(shim), os.environ.get("LD_PRELOAD", "")) if p)
    return {"LD_PRELOAD": preload, PORTS_VARIABLE: ",".join(str(p) for p in ports)}


if __name__ == "__main__":
    try:
        print(ensure_shim())
    except BindShimUnavailable as exc:
        print(f"warning: {exc}; Orthanc will listen on every interface", file=sys.stderr)
        sys.exit(1)
