"""The security-header middleware on a bare ASGI app: which policy an answer gets, and that
a policy set further in (a route, an upstream server) is replaced, not kept or merged."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.security_headers import (
    API_DOCUMENT_POLICY,
    API_POLICY,
    PAGE_POLICY,
    SecurityHeaders,
    policy_for,
)


@pytest.mark.parametrize(("path", "content_type", "policy"), [
    ("/", "text/html; charset=utf-8", PAGE_POLICY),
    ("/assets/decodeImageFrameWorker-x.js", "text/javascript", PAGE_POLICY),
    ("/docs", "text/html", PAGE_POLICY),
    ("/api/v1/cases/1/report", "text/html; charset=utf-8", API_DOCUMENT_POLICY),
    ("/api/v1/cases/1/report", "TEXT/HTML", API_DOCUMENT_POLICY),
    ("/api/v1/cases/1/report", "application/pdf", API_POLICY),
    ("/api/v1/patients", "application/json", API_POLICY),
    ("/dicom-web/studies/1.2/series", "application/dicom+json", API_POLICY),
    ("/dicom-web/studies/1.2", "text/html", API_DOCUMENT_POLICY),
    ("/healthz", "application/json", API_POLICY),
    ("/openapi.json", "application/json", API_POLICY),
    ("/api/v1/x", "", API_POLICY),
])
def test_policy_by_path_and_media_type(path: str, content_type: str, policy: str) -> None:
    assert policy_for(path, content_type) == policy


def test_every_api_policy_is_sandboxed_and_pages_are_not() -> None:
    assert API_POLICY.startswith("sandbox;") and API_DOCUMENT_POLICY.startswith("sandbox;")
    assert "sandbox" not in PAGE_POLICY


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that sets permissive headers of its own, as an upstream server might."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/html"),
        (b"Content-Security-Policy", b"default-src *"),
        (b"content-security-policy", b"script-src 'unsafe-inline'"),
        (b"X-Content-Type-Options", b"sniff"),
        (b"Referrer-Policy", b"unsafe-url"),
        (b"x-kept", b"yes"),
    ]})
    await send({"type": "http.response.body", "body": b"<p>hi</p>"})


def test_inner_headers_are_replaced_and_others_kept() -> None:
    client = TestClient(SecurityHeaders(inner))
    for path, policy in (("/", PAGE_POLICY), ("/api/v1/thing", API_DOCUMENT_POLICY)):
        r = client.get(path)
        assert r.headers.get_list("content-security-policy") == [policy]
        assert r.headers.get_list("x-content-type-options") == ["nosniff"]
        assert r.headers.get_list("referrer-policy") == ["no-referrer"]
        assert r.headers["x-kept"] == "yes" and r.text == "<p>hi</p>"
