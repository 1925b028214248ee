"""Security headers on pages, API answers and /docs (issue 15). The browser side (images
drawn, the report's opaque origin, /docs rendered with no violation) is in
tests/browser/test_security_headers.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.security_headers import API_POLICY, PAGE_POLICY
from tests.conftest import Service

pytestmark = pytest.mark.integration
ROLES = ("uploader", "specialist", "radiologist", "admin")
# Source expressions that name no other origin.
LOCAL_SOURCES = {"'self'", "'none'", "data:", "blob:", "'wasm-unsafe-eval'", "'unsafe-inline'"}


@pytest.fixture
def service(service_factory: Callable[..., Service]) -> Service:
    """The app without Orthanc: headers do not depend on it."""
    return service_factory(None, ingest=False)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def check_common(response: Any) -> dict[str, list[str]]:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    for name, sources in policy.items():
        assert set(sources) <= LOCAL_SOURCES, (name, sources)
    return policy


def test_pages_forbid_inline_script_and_other_origins(service: Service) -> None:
    for path in ("/", "/login", "/cases/1", "/docs", "/docs/init.js",
                 "/docs/swagger-ui-bundle.js", "/no/such/page"):
        r = service.client.get(path)
        policy = check_common(r)
        assert r.headers["content-security-policy"] == PAGE_POLICY, path
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
        assert "sandbox" not in policy


def test_api_answers_of_every_kind_load_nothing_and_are_sandboxed(service: Service) -> None:
    answers = [
        service.client.get("/healthz"),
        service.client.get("/openapi.json"),
        service.client.get("/api/v1/patients"),                                   # 401
        service.client.get("/api/v1/patients", headers=service.headers("uploader")),  # 403
        service.client.get("/api/v1/cases/999999", headers=service.headers("admin")),  # 404
        service.client.post("/api/v1/cases", json={}, headers=service.headers("admin")),  # 422
        service.client.get("/dicom-web/studies"),
    ] + [service.client.get("/api/v1/me", headers=service.headers(role)) for role in ROLES]
    for r in answers:
        policy = check_common(r)
        assert r.headers["content-security-policy"] == API_POLICY, r.request.url
        assert "sandbox" in policy and policy["default-src"] == ["'none'"]


def test_an_unexpected_error_carries_the_headers_too(service: Service) -> None:
    def fails() -> None:
        raise RuntimeError("a bug")

    service.app.add_api_route("/api/v1/test-fails", fails)
    r = service.client.get("/api/v1/test-fails")
    assert r.status_code == 500
    check_common(r)
    assert r.headers["content-security-policy"] == API_POLICY
