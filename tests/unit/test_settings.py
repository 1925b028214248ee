"""Settings: environment names of the contract and database URL forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings


def test_contract_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NADIR_DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("NADIR_ORTHANC_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("NADIR_ORTHANC_USERNAME", "u")
    monkeypatch.setenv("NADIR_ORTHANC_PASSWORD", "p")
    monkeypatch.setenv("NADIR_DATA_DIR", str(tmp_path))
    s = Settings()
    assert (s.effective_database_url, s.orthanc_url, s.orthanc_username,
            s.orthanc_password, s.data_dir) == (
        "sqlite:////tmp/x.db", "http://127.0.0.1:9999", "u", "p", tmp_path)


@pytest.mark.parametrize(("given", "used"), [
    ("postgresql://nadir@db:5432/nadir", "postgresql+psycopg://nadir@db:5432/nadir"),
    ("postgres://nadir@db/nadir", "postgresql+psycopg://nadir@db/nadir"),
    ("postgresql+psycopg://a@b/c", "postgresql+psycopg://a@b/c"),
])
def test_plain_postgresql_urls_use_psycopg3(given: str, used: str) -> None:
    assert Settings(database_url=given).effective_database_url == used


def test_default_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).effective_database_url
    assert url == f"sqlite:///{(tmp_path / 'nadir.db').resolve()}"
