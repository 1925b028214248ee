"""/docs: Swagger UI from the files of a pinned package installed with Nadir, started by a
script file; nothing from another origin (issue 15)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from tests.conftest import Service

pytestmark = pytest.mark.integration
ROLES = ("uploader", "specialist", "radiologist", "admin")
# swagger-ui-dist 5.34.0 from the npm registry (what fastapi-swagger 0.4.64 ships).
SWAGGER_UI_SHA256 = {
    "swagger-ui-bundle.js": "3f6abf70480db7e07914df4c98a77385f22ea585eaf457a3e6415ba0eae2d167",
    "swagger-ui.css": "c3cfe8248c4b0b89673600fb829924eafbac6de4bc4b2b06f5f5243483074d0a",
}


@pytest.fixture
def service(service_factory: Callable[..., Service]) -> Service:
    """The app without Orthanc: /docs does not depend on it."""
    return service_factory(None, ingest=False)


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag == "script" and "src" not in found:
            self.inline_scripts += 1
        assert not any(k.startswith("on") for k in found), (tag, attrs)


def test_docs_need_nothing_from_another_origin_for_anyone(service: Service) -> None:
    pages = [service.client.get("/docs")] + [
        service.client.get("/docs", headers=service.headers(role)) for role in ROLES]
    for page in pages:
        assert page.status_code == 200 and page.text == pages[0].text
    references = _References()
    references.feed(pages[0].text)
    assert references.inline_scripts == 0
    assert references.urls and all(re.fullmatch(r"/docs/[\w.-]+|data:,", url)
                                   for url in references.urls), references.urls
    for url in references.urls:
        if url.startswith("/"):
            assert service.client.get(url).status_code == 200, url
    init = service.client.get("/docs/init.js")
    assert init.headers["content-type"].startswith("text/javascript")
    assert "'/openapi.json'" in init.text and "http" not in init.text
    # FastAPI's CDN page and ReDoc are off.
    assert service.client.get("/redoc").status_code == 404
    assert "cdn" not in pages[0].text.lower()


def test_swagger_ui_is_the_pinned_release_and_no_other_file_is_reachable(
        service: Service) -> None:
    for name, digest in SWAGGER_UI_SHA256.items():
        r = service.client.get(f"/docs/{name}")
        assert r.status_code == 200
        assert hashlib.sha256(r.content).hexdigest() == digest, name
        # The routes take no parameter: a path in the query changes nothing.
        again = service.client.get(f"/docs/{name}", params={"path": "/etc/passwd"})
        assert again.content == r.content
    for escape in ("/docs/../pyproject.toml", "/docs/%2e%2e/api/app.py", "/docs/main.py",
                   "/docs/favicon-32x32.png", "/docs/swagger-ui-bundle.js.map",
                   "/docs/..%2f__init__.py"):
        r = service.client.get(escape)
        assert r.status_code == 404, escape
        assert "import" not in r.text
