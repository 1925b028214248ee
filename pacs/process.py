"""Start and stop a real Orthanc process on given ports and storage.

The one Orthanc configuration of the project is ``docker/orthanc/orthanc.json``; this module
overlays what differs per instance (ports, storage, credentials, plugins) and writes the
result into the instance's own folder.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pacs.bindshim import ensure_shim, loopback_environment
from pacs.errors import BindShimUnavailable, OrthancPortInUse, OrthancProcessError
from pacs.listeners import Listener, listening
from pacs.orthanc import OrthancClient
from pacs.reader_user import reader_credentials, reader_filter_lua
from pacs.stable_push import PUSH_TIMEOUT_S, push_secret, stable_push_lua

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = REPO_ROOT / "docker" / "orthanc" / "orthanc.json"
PLUGIN_DIRS = (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc/plugins"))
DICOMWEB_PLUGIN = "libOrthancDicomWeb.so"
#: Debian's orthanc-postgresql: Orthanc's index (not its files) in PostgreSQL.
POSTGRESQL_INDEX_PLUGIN = "libOrthancPostgreSQLIndex.so"
#: Debian's orthanc-python (4.0): runs pacs/resent_spool.py inside Orthanc.
PYTHON_PLUGIN = "libOrthancPython.so"
RESENT_SPOOL_SCRIPT = REPO_ROOT / "pacs" / "resent_spool.py"
# What Orthanc 1.x logs before it exits when it cannot listen (OrthancException 2003/2004):
# "The TCP port of the HTTP server is privileged or already in use:  (port = 8042)".
PORT_IN_USE_LOG = re.compile(r"The TCP port of the (HTTP|DICOM) server is privileged or already "
                             r"in use")


def find_orthanc_executable() -> str | None:
    return shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
    )


def find_plugin(name: str) -> str | None:
    for folder in PLUGIN_DIRS:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    return None


def find_plugins() -> list[str]:
    found = find_plugin(DICOMWEB_PLUGIN)
    return [found] if found else []


@dataclass(frozen=True)
class OrthancConfig:
    """What one Orthanc instance needs beyond the shared configuration."""

    storage_dir: Path
    http_port: int
    dicom_port: int
    username: str
    password: str
    aet: str = "NADIR"
    #: libpq URL of a PostgreSQL database for Orthanc's index; None keeps SQLite.
    index_url: str | None = None
    #: Where the DICOM files are; several Orthanc servers on one index share it.
    files_dir: Path | None = None
    stable_age_s: int | None = None
    #: DICOM on every interface, for senders on other machines (registered peers only).
    #: Otherwise both listeners stay on loopback (when the loopback shim could be built).
    expose_dicom: bool = False
    #: Where Orthanc posts each stable series (Nadir's internal endpoint, on loopback);
    #: None: Nadir only polls the change feed (pacs/stable_push.py).
    stable_series_url: str | None = None
    #: Where Orthanc's Python plugin spools copies of instances it holds that came again
    #: by C-STORE, for Nadir to drain (pacs/resent_spool.py); None: no plugin, such copies
    #: go unnoticed.
    resent_spool_dir: Path | None = None

    def __post_init__(self) -> None:
        for name in ("http_port", "dicom_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise OrthancProcessError(f"{name} must be a TCP port, got {port}")
        if self.http_port == self.dicom_port:
            raise OrthancProcessError(
                f"http_port and dicom_port must differ, both are {self.http_port}"
            )
        if not self.username or not self.password:
            raise OrthancProcessError(
                "Orthanc runs with authentication on: give a username and password"
            )
        if self.index_url is not None and not self.index_url.startswith(
                ("postgresql://", "postgres://")):
            raise OrthancProcessError("index_url must be a postgresql:// URL")
        if self.stable_series_url is not None:
            stable_push_lua(self.stable_series_url, self.push_secret)  # refuses a bad URL

    @property
    def reader(self) -> tuple[str, str]:
        """The image proxy's (name, password): it may only GET below /dicom-web/."""
        return reader_credentials(self.username, self.password)

    @property
    def push_secret(self) -> str:
        """The secret Orthanc's posts to Nadir carry, derived from the password."""
        return push_secret(self.password)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def loopback_ports(self) -> tuple[int, ...]:
        """The ports Orthanc should listen on with 127.0.0.1 only."""
        return (self.http_port,) if self.expose_dicom else (self.http_port, self.dicom_port)

    def runtime_settings(self) -> dict[str, object]:
        settings: dict[str, object] = {
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "StorageDirectory": str(self.files_dir or self.storage_dir / "storage"),
            "IndexDirectory": str(self.storage_dir / "storage"),
            # Loopback only: Nadir is the only HTTP client; hospitals reach it over DICOM.
            "RemoteAccessAllowed": False,
            # Nadir's own user, and the image proxy's, which Orthanc lets only read DICOMweb
            # (the Lua filter written beside this configuration).
            "RegisteredUsers": {self.username: self.password,
                                self.reader[0]: self.reader[1]},
            # Peers are registered by an admin at run time (REST /modalities) and kept in
            # Orthanc's own database, so they survive restarts.
            "DicomModalitiesInDatabase": True,
        }
        if self.stable_age_s is not None:
            settings["StableAge"] = self.stable_age_s
        if self.stable_series_url is not None:
            # The Lua post's timeout (pacs/stable_push.py): Orthanc's REST API waits as long.
            settings["HttpTimeout"] = PUSH_TIMEOUT_S
        plugins = find_plugins()
        if self.resent_spool_dir is not None:
            plugins.append(_required_plugin(PYTHON_PLUGIN, "orthanc-python"))
            settings["PythonScript"] = str(RESENT_SPOOL_SCRIPT)
            settings["Nadir"] = {"ResentSpoolDirectory": str(self.resent_spool_dir)}
        if self.index_url is not None:
            plugins.append(_required_plugin(POSTGRESQL_INDEX_PLUGIN, "orthanc-postgresql"))
            settings["PostgreSQL"] = {
                "EnableIndex": True,
                "EnableStorage": False,  # the files stay in StorageDirectory
                "ConnectionUri": self.index_url,
                # Orthanc Book, "Scalability": several Orthanc servers may share one index
                # (Orthanc >= 1.9.2, plugin >= 4.0) when none of them locks the database.
                "Lock": False,
            }
        settings["Plugins"] = plugins
        return settings


def _required_plugin(name: str, package: str) -> str:
    found = find_plugin(name)
    if found is None:
        raise OrthancProcessError(f"{name} is not installed (Debian: {package})")
    return found


class OrthancProcess:
    """A running Orthanc child process. Use as a context manager or call start/stop.

    Its files are private (umask 077) and its listeners on loopback except what the
    configuration exposes; ``loopback_problem`` says why they could not be kept there.
    With ``die_with_parent`` (Linux), Orthanc gets SIGTERM when the thread that started it
    ends, even by SIGKILL: start it from the main thread of a process with no other threads
    (the flag is set between fork and exec)."""

    def __init__(self, config: OrthancConfig, *, base_config: Path = BASE_CONFIG,
                 die_with_parent: bool = False) -> None:
        self.config = config
        self._base_config = base_config
        self._die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.loopback_problem: str | None = None

    @property
    def config_dir(self) -> Path:
        return self.config.storage_dir / "config"

    @property
    def pid_file(self) -> Path:
        return self.config.storage_dir / "orthanc.pid"

    @property
    def log_file(self) -> Path:
        return self.config.storage_dir / "orthanc.log"

    def client(self) -> OrthancClient:
        return OrthancClient(self.config.url, self.config.username, self.config.password)

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        merged = json.loads(self._base_config.read_text())
        merged.update(self.config.runtime_settings())
        lua = self.config_dir / "reader-filter.lua"
        lua.write_text(reader_filter_lua(self.config.reader[0]))
        scripts = [lua]
        if self.config.stable_series_url is not None:
            scripts.append(self._secret_script("stable-push.lua", stable_push_lua(
                self.config.stable_series_url, self.config.push_secret)))
        merged["LuaScripts"] = [str(script) for script in scripts]
        path = self.config_dir / "orthanc.json"
        path.touch(mode=0o600)
        # The file holds Orthanc's password: readable by the owner only.
        path.chmod(0o600)
        path.write_text(json.dumps(merged, indent=2))

    def _secret_script(self, name: str, text: str) -> Path:
        """A Lua script that holds the shared secret: readable by the owner only."""
        path = self.config_dir / name
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(text)
        return path

    def start(self, *, timeout_s: float = 20.0) -> None:
        executable = find_orthanc_executable()
        if executable is None:
            raise OrthancProcessError(
                "Orthanc executable not found: install Debian's 'orthanc' package"
            )
        self._wait_previous_exit(timeout_s)
        self.write_config()
        env = dict(os.environ)
        # Debian's DCMTK leaves Nagle's algorithm on: every C-STORE then waits ~45 ms.
        env["TCP_NODELAY"] = "1"
        env.update(self._loopback_environment())
        log = self.log_file.open("ab")
        self._log_offset = log.tell()
        self._proc = subprocess.Popen(
            [executable, str(self.config_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            # The storage holds PHI: its folders 0700, its files 0600.
            umask=0o077,
            preexec_fn=_death_signal_setter() if self._die_with_parent else None,
        )
        log.close()
        self.pid_file.write_text(str(self._proc.pid))
        self._wait_ready(timeout_s)

    def _loopback_environment(self) -> dict[str, str]:
        self.loopback_problem = None
        try:
            shim = ensure_shim()
        except BindShimUnavailable as exc:
            self.loopback_problem = str(exc)
            return {}
        return loopback_environment(shim, self.config.loopback_ports)

    def listeners(self) -> list[Listener]:
        """What the running Orthanc listens on, as the kernel reports it."""
        return listening(self._proc.pid) if self.running and self._proc is not None else []

    def _wait_previous_exit(self, timeout_s: float) -> None:
        """Two Orthancs on one storage corrupt its index: wait for an old one to exit."""
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            return
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and _is_orthanc(pid):
            if time.monotonic() > deadline:
                raise OrthancProcessError(
                    f"another Orthanc (pid {pid}) still uses {self.config.storage_dir}"
                )
            time.sleep(0.05)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self.client() as client:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.poll() is not None:
                    raise self._exit_error(self._proc.returncode)
                if client.is_reachable(timeout=0.5):
                    return
                time.sleep(0.05)
        self.stop()
        raise OrthancProcessError(
            f"Orthanc did not answer within {timeout_s} s; see {self.log_file}"
        )

    def _exit_error(self, returncode: int) -> OrthancProcessError:
        """Why Orthanc exited while starting: a port in use is named, the rest is in the log."""
        ports = {"HTTP": self.config.http_port, "DICOM": self.config.dicom_port}
        with self.log_file.open("rb") as log:
            log.seek(self._log_offset)
            this_start = log.read().decode(errors="replace")
        match = PORT_IN_USE_LOG.search(this_start)
        if match:
            listener = match.group(1)
            return OrthancPortInUse(listener=listener, port=ports[listener],
                                    log_file=str(self.log_file))
        # Another Orthanc version may word it differently: look at the ports themselves.
        for listener, port in ports.items():
            if _port_in_use(port):
                return OrthancPortInUse(listener=listener, port=port,
                                        log_file=str(self.log_file))
        return OrthancProcessError(f"Orthanc exited with code {returncode}; see {self.log_file}")

    def stop(self, *, timeout_s: float = 20.0, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The Orthanc process's id while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    def __enter__(self) -> OrthancProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _port_in_use(port: int) -> bool:
    """Whether another process listens on the port, on any address (a wildcard bind
    collides with a loopback listener too)."""
    with socket.socket() as sock:
        # TIME_WAIT connections left by an earlier Orthanc do not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _death_signal_setter() -> Callable[[], None] | None:
    """A pre-exec hook asking the kernel to send SIGTERM to the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    # Looked up before the fork: the hook runs in the child, where little is safe to do.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the flag was set
            os._exit(1)

    return set_death_signal


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_orthanc(pid: int) -> bool:
    try:
        return "Orthanc" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
