"""The deployment files: one Orthanc configuration shared with the local start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pacs.process import BASE_CONFIG, OrthancConfig

DOCKER = Path(__file__).resolve().parents[2] / "docker"
COMPOSE_ENV = {"ORTHANC_PASSWORD": "x", "POSTGRES_PASSWORD": "y", "ORTHANC_READER_PASSWORD": "z",
               "NADIR_PUSH_SECRET": "0123456789abcdef0123456789abcdef"}


def test_docker_overlay_does_not_redefine_shared_settings() -> None:
    # Orthanc refuses a key defined in two files of its configuration folder.
    shared = json.loads(BASE_CONFIG.read_text())
    overlay = json.loads((DOCKER / "orthanc" / "docker.json").read_text())
    assert not set(shared) & set(overlay)
    assert shared["AuthenticationEnabled"] is True
    assert shared["DicomAlwaysAllowStore"] is False
    assert shared["DicomCheckModalityHost"] is True


def test_local_runtime_overlay_keeps_security_settings(tmp_path: Path) -> None:
    settings = OrthancConfig(storage_dir=tmp_path, http_port=1, dicom_port=2,
                             username="u", password="p").runtime_settings()
    for key in ("AuthenticationEnabled", "DicomAlwaysAllowStore", "DicomCheckModalityHost"):
        assert key not in settings
    assert settings["RemoteAccessAllowed"] is False


def test_compose_file_is_valid() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (scripts/setup.sh dev installs it)")
    env = dict(os.environ, **COMPOSE_ENV)
    result = subprocess.run([tool, "-f", str(DOCKER / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_compose_runs_two_orthancs_on_one_postgresql_index() -> None:
    """Orthanc Book, "Scalability": several Orthanc servers share one PostgreSQL index (no
    database lock) and one storage area; two Nadir nodes share one database."""
    overlay = json.loads((DOCKER / "orthanc" / "docker.json").read_text())
    assert any(p.endswith("libOrthancPostgreSQLIndex.so") for p in overlay["Plugins"])
    pg = overlay["PostgreSQL"]
    assert (pg["EnableIndex"], pg["EnableStorage"], pg["Lock"]) == (True, False, False)
    assert pg["ConnectionUri"].startswith("postgresql://") and "${POSTGRES_PASSWORD}" in \
        pg["ConnectionUri"]
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (scripts/setup.sh dev installs it)")
    env = dict(os.environ, **COMPOSE_ENV)
    result = subprocess.run([tool, "-f", str(DOCKER / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for service in ("orthanc:", "orthanc-2:", "nadir:", "nadir-2:", "postgres:"):
        assert f"\n  {service}" in text, service
    assert text.count("orthanc-files:/var/lib/orthanc/db") == 2 or \
        text.count("source: orthanc-files") == 2


def test_compose_gives_the_image_proxy_its_read_only_orthanc_user() -> None:
    """The deployment's Orthanc lets the proxy's user only read DICOMweb, as the local
    start does (pacs/reader_user.py), and both Nadir nodes use that user for images."""
    from pacs.reader_user import reader_filter_lua

    overlay = json.loads((DOCKER / "orthanc" / "docker.json").read_text())
    assert set(overlay["RegisteredUsers"]) == {"nadir", "nadir-images"}
    lua = (DOCKER / "orthanc" / "reader-filter.lua").read_text()
    assert lua == reader_filter_lua("nadir-images")
    compose = (DOCKER / "docker-compose.yml").read_text()
    assert compose.count("NADIR_ORTHANC_READER_USERNAME: nadir-images") == 2


def test_compose_orthanc_spools_copies_for_nadir_and_has_no_lua_filter() -> None:
    """Copies sent again go through the Python plugin's spool (pacs/resent_spool.py), on a
    volume every Orthanc and Nadir container mounts; no Lua ReceivedInstanceFilter (Orthanc
    1.10.1 crashed feeding it instances with sequences nested 9 deep)."""
    overlay = json.loads((DOCKER / "orthanc" / "docker.json").read_text())
    assert any(p.endswith("libOrthancPython.so") for p in overlay["Plugins"])
    spool = overlay["Nadir"]["ResentSpoolDirectory"]
    assert overlay["PythonScript"] == "/usr/local/share/nadir/resent_spool.py"
    orthanc_image = _stages((DOCKER / "orthanc" / "Dockerfile").read_text())[0]
    assert f"COPY pacs/resent_spool.py {overlay['PythonScript']}" in orthanc_image
    install = next(line for line in orthanc_image if "apt-get install" in line)
    for package in ("orthanc", "orthanc-dicomweb", "orthanc-postgresql", "orthanc-python"):
        assert f" {package} " in f"{install} ", package
    # One user id in both images: the spool's files are the owner's only.
    assert any("--uid 10001" in line for line in orthanc_image)
    assert "USER 10001" in orthanc_image
    assert any("--uid 10001" in line for line in _stages((DOCKER / "Dockerfile").read_text())[-1])
    for lua in (DOCKER / "orthanc").glob("*.lua"):
        assert "ReceivedInstanceFilter" not in lua.read_text(), lua
    compose = (DOCKER / "docker-compose.yml").read_text()
    assert compose.count(f"resent-spool:{spool}") == 2  # the Orthanc and the Nadir anchors
    assert compose.count(f"NADIR_RESENT_SPOOL_DIR: {spool}") == 2


def test_compose_orthanc_posts_stable_series_to_both_nadir_nodes() -> None:
    """Issue 22's Docker gap: Orthanc tells Nadir at once that a series is stable, by the
    compose service names, with the secret both sides take from NADIR_PUSH_SECRET."""
    from api.routes.internal import STABLE_SERIES_PATH
    from pacs.stable_push import stable_push_lua_for_services

    overlay = json.loads((DOCKER / "orthanc" / "docker.json").read_text())
    assert "/etc/nadir-orthanc/stable-push.lua" in overlay["LuaScripts"]
    assert overlay["HttpTimeout"] == 2  # Orthanc's REST API waits as long as a post
    lua = (DOCKER / "orthanc" / "stable-push.lua").read_text()
    assert lua == stable_push_lua_for_services(
        [f"http://nadir:8000{STABLE_SERIES_PATH}", f"http://nadir-2:8000{STABLE_SERIES_PATH}"],
        "NADIR_PUSH_SECRET")
    compose = (DOCKER / "docker-compose.yml").read_text()
    assert "NADIR_PUSH_SECRET: ${NADIR_PUSH_SECRET:?set NADIR_PUSH_SECRET}" in compose
    assert compose.count("NADIR_INGEST_PUSH_SECRET: ${NADIR_PUSH_SECRET:?") == 2


def test_the_services_lua_refuses_what_it_cannot_hold() -> None:
    from pacs.errors import PacsError
    from pacs.stable_push import stable_push_lua_for_services

    for urls in ([], ["http://nadir:8000/x'..os.exit()"], ["https://nadir/x"],
                 ["http://Nadir:8000/x"]):
        with pytest.raises(PacsError, match="URL"):
            stable_push_lua_for_services(urls, "NADIR_PUSH_SECRET")
    with pytest.raises(PacsError, match="environment"):
        stable_push_lua_for_services(["http://nadir:8000/x"], "X') os.exit('")


def _stages(dockerfile: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), cut at each FROM."""
    joined = dockerfile.replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(" ".join(line.split()))
    return stages


def test_the_image_builds_the_workstation_in_a_node_stage_and_serves_it() -> None:
    web, service = _stages((DOCKER / "Dockerfile").read_text())
    assert web[0].startswith("FROM node:") and web[0].endswith(" AS web")
    assert "RUN npm ci --no-audit --no-fund" in web
    assert "RUN npm run build" in web  # types from openapi.json, tsc, then vite
    # The lock file is copied before the sources, so the npm ci layer is reused.
    assert web.index("COPY web/package.json web/package-lock.json ./") < web.index("COPY web/ ./")
    assert service[0].startswith("FROM python:")
    assert "COPY --from=web /web/dist /app/web/dist" in service
    # Installed into site-packages, api/routes/web.py's default path is not web/dist.
    assert "ENV NADIR_WEB_DIST=/app/web/dist" in service
    assert service[-1].startswith("CMD ")


def test_the_image_copies_every_python_package_it_installs() -> None:
    pyproject = (DOCKER.parent / "pyproject.toml").read_text()
    include = pyproject.split("[tool.setuptools.packages.find]")[1].split("\n\n")[0]
    packages = [name.strip(' "*') for name in include.split("[", 1)[1].split("]")[0].split(",")]
    service = _stages((DOCKER / "Dockerfile").read_text())[-1]
    for package in packages:
        assert f"COPY {package} ./{package}" in service, package


def test_the_node_stage_needs_nothing_outside_web() -> None:
    """The web stage copies only web/: every relative import of the workstation resolves
    inside it, and the build context leaves node_modules, web/dist and local data out."""
    web = DOCKER.parent / "web"
    for source in (web / "src").rglob("*.ts"):
        for line in source.read_text().splitlines():
            if " from '." not in line and not line.startswith("import '."):
                continue
            target = line.split("'")[1]
            resolved = (source.parent / target).resolve()
            assert resolved.is_relative_to(web), f"{source}: {line}"
    ignored = (DOCKER.parent / ".dockerignore").read_text().split()
    for path in ("web/node_modules", "web/dist", "var", ".venv", ".git"):
        assert path in ignored, path
