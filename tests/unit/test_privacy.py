"""Unexpected errors answer 500 without leaking patient data into the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_unexpected_error_logs_type_and_route_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/n.db"),
                     run_ingest=False)

    @app.get("/boom/{patient_id}")
    def boom(patient_id: str) -> None:
        raise RuntimeError(f"patient {patient_id} Doe^Jane born 19610412")

    with caplog.at_level(logging.DEBUG), TestClient(app) as client:
        r = client.get("/boom/SECRET-ID-42")
    assert r.status_code == 500 and "RuntimeError" in r.json()["detail"]
    assert "SECRET-ID-42" not in r.text and "Doe^Jane" not in r.text
    # The test client's own httpx request log is the client side, not the service.
    logged = "\n".join(rec.getMessage() for rec in caplog.records if rec.name != "httpx")
    assert "RuntimeError" in logged
    assert "SECRET-ID-42" not in logged and "Doe^Jane" not in logged
