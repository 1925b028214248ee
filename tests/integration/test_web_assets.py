"""/assets/ and the pages (issue 22): hashed assets cached for good, compressed files sent
to browsers that accept them, the review's chunks preloaded on /cases/{id} only, nothing
outside assets/ reachable, and the pages' Content-Security-Policy unchanged. A build laid
out as Vite writes it, in a temporary folder."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.routes.web import IMMUTABLE
from api.security_headers import PAGE_POLICY
from tests.conftest import Service

pytestmark = pytest.mark.integration
SCRIPT = b"export const x = 1;\n" * 200
#: Stands for the brotli file (the server sends it as it is; no brotli module needed here).
BROTLI = b"brotli bytes of the script"
GZIP = gzip.compress(SCRIPT, mtime=0)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / ".vite").mkdir()
    (root / "index.html").write_text(
        '<!doctype html><html><head><script type="module" crossorigin '
        'src="/assets/index-AAAA.js"></script></head><body><div id="app"></div></body></html>')
    for name in ("index-AAAA.js", "review-BBBB.js", "shared-CCCC.js"):
        (root / "assets" / name).write_bytes(SCRIPT)
    (root / "assets" / "review-BBBB.js.br").write_bytes(BROTLI)
    (root / "assets" / "review-BBBB.js.gz").write_bytes(GZIP)
    (root / "assets" / "codec-DDDD.wasm").write_bytes(b"\0asm\1\0\0\0")
    (root / ".vite" / "manifest.json").write_text(json.dumps({
        "src/main.ts": {"file": "assets/index-AAAA.js", "src": "src/main.ts",
                        "isEntry": True, "dynamicImports": ["src/pages/review.ts"]},
        "src/pages/review.ts": {"file": "assets/review-BBBB.js", "src": "src/pages/review.ts",
                                "isDynamicEntry": True, "imports": ["_shared-CCCC.js"]},
        "_shared-CCCC.js": {"file": "assets/shared-CCCC.js", "imports": ["src/main.ts"]},
    }))
    return root


@pytest.fixture
def service(service_factory: Callable[..., Service], dist: Path) -> Service:
    return service_factory(None, ingest=False, web_dist=dist)


def _raw(service: Service, path: str, accept: str) -> tuple[Any, bytes]:
    """The answer and its body as sent (not decoded)."""
    with service.client.stream("GET", path, headers={"Accept-Encoding": accept}) as r:
        return r, b"".join(r.iter_raw())


def test_assets_are_immutable_and_compressed_when_accepted(service: Service) -> None:
    for encoding, body in (("br", BROTLI), ("gzip", GZIP)):
        r, sent = _raw(service, "/assets/review-BBBB.js", f"{encoding}, deflate")
        assert r.status_code == 200
        assert r.headers["content-encoding"] == encoding
        assert r.headers["cache-control"] == IMMUTABLE
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["content-type"].startswith("text/javascript")
        assert sent == body and int(r.headers["content-length"]) == len(body)
        assert r.headers["content-security-policy"] == PAGE_POLICY
    # Brotli first when both are accepted; nothing compressed when neither is (or q=0).
    both, _ = _raw(service, "/assets/review-BBBB.js", "gzip;q=1, br;q=0.5")
    assert both.headers["content-encoding"] == "br"
    for header in ("identity", "br;q=0, gzip;q=0", ""):
        plain, sent = _raw(service, "/assets/review-BBBB.js", header)
        assert "content-encoding" not in plain.headers and sent == SCRIPT
    # A file the build did not compress is sent as it is.
    r, sent = _raw(service, "/assets/index-AAAA.js", "br, gzip")
    assert "content-encoding" not in r.headers and r.headers["cache-control"] == IMMUTABLE
    assert sent == SCRIPT
    wasm = service.client.get("/assets/codec-DDDD.wasm")
    assert wasm.headers["content-type"] == "application/wasm"
    assert service.client.head("/assets/review-BBBB.js").status_code == 200


def test_only_the_review_page_preloads_the_viewer(service: Service) -> None:
    review = service.client.get("/cases/12")
    assert review.status_code == 200 and review.headers["cache-control"] == "no-cache"
    assert review.headers["content-security-policy"] == PAGE_POLICY
    assert ('<link rel="modulepreload" crossorigin href="/assets/review-BBBB.js">'
            '<link rel="modulepreload" crossorigin href="/assets/shared-CCCC.js">'
            '<link rel="modulepreload" crossorigin href="/assets/index-AAAA.js"></head>'
            ) in review.text
    for path in ("/", "/login"):
        page = service.client.get(path)
        assert page.status_code == 200 and "modulepreload" not in page.text
        assert "review-BBBB" not in page.text


@pytest.mark.parametrize("path", [
    "/assets/../index.html", "/assets/..%2Findex.html", "/assets/%2e%2e/index.html",
    "/assets/.vite/manifest.json", "/assets/nothing.js", "/assets/review-BBBB",
    "/assets/review-BBBB.js%00.png", "/assets/%5C..%5Cindex.html", "/assets/.hidden.js",
])
def test_nothing_outside_assets_is_served(service: Service, path: str) -> None:
    r = service.client.get(path)
    # 422: a NUL character is refused before any route sees it.
    assert r.status_code in (404, 422), path
    assert "manifest" not in r.text and "isEntry" not in r.text


def test_without_a_manifest_the_pages_still_load(service: Service, dist: Path) -> None:
    (dist / ".vite" / "manifest.json").unlink()
    r = service.client.get("/cases/3")
    assert r.status_code == 200 and "modulepreload" not in r.text
