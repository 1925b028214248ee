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
    env = dict(os.environ, ORTHANC_PASSWORD="x", POSTGRES_PASSWORD="y",
               ORTHANC_READER_PASSWORD="z")
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
    env = dict(os.environ, ORTHANC_PASSWORD="x", POSTGRES_PASSWORD="y",
               ORTHANC_READER_PASSWORD="z")
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
