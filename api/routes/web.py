"""The review workstation's pages: the built front end (web/dist), served on the API's origin.

``/``, ``/login`` and ``/cases/{id}`` are the single-page application's routes and all
answer its index.html; the bundles, workers and codecs live under ``/assets/``.

- **Only the review loads the viewer.** The worklist and the sign-in page load the small
  entry bundle; the review's chunks (cornerstone3D, vtk.js) are a dynamic import. On
  ``/cases/{id}`` the page names them in ``<link rel="modulepreload">`` (from Vite's
  manifest), so their download starts with the page instead of after the entry's.
- **Assets are cached for good.** Their names carry a hash of their content, so
  ``/assets/`` answers ``Cache-Control: public, max-age=31536000, immutable``; the page
  itself is ``no-cache``.
- **Compressed at build time.** ``web/scripts/compress.mjs`` writes a ``.br`` and a
  ``.gz`` beside each asset; a browser that accepts brotli (or gzip) gets that file with
  ``Content-Encoding`` and ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.http_coding import accepted_codings

#: Where `scripts/setup.sh` builds the front end (npm run build in web/).
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
NOT_BUILT = (
    "<!doctype html><title>Nadir</title><p>The review workstation is not built yet. "
    "Run <code>bash scripts/setup.sh</code> (it builds <code>web/</code> with npm); "
    "the API is at <a href=\"/docs\">/docs</a>.</p>"
)
#: The review page's own module in the build (its chunk and what it imports are preloaded).
REVIEW_SOURCE = "src/pages/review.ts"
IMMUTABLE = "public, max-age=31536000, immutable"
#: What Vite writes into assets/: flat, hashed names. Anything else is 404.
_ASSET_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.[a-z0-9]{1,8}")
#: Content types the browser insists on (WebAssembly streaming compiles need the exact one).
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
          ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml"}
#: Build-time encodings, best first.
_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def install_web(app: FastAPI, dist: Path = WEB_DIST) -> None:
    router = APIRouter(include_in_schema=False)
    assets = dist / "assets"

    def page(preload: bool) -> Response:
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        html = index.read_text(encoding="utf-8")
        if preload:
            links = "".join(f'<link rel="modulepreload" crossorigin href="/assets/{name}">'
                            for name in review_chunks(dist))
            html = html.replace("</head>", f"{links}</head>", 1)
        # The page is small and changes with every build: never cached; assets are hashed.
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    def other_page() -> Response:
        return page(preload=False)

    def review_page(case_id: str) -> Response:
        return page(preload=True)

    for path in ("/", "/login"):
        router.add_api_route(path, other_page, methods=["GET"], response_class=HTMLResponse,
                             response_model=None)
    router.add_api_route("/cases/{case_id}", review_page, methods=["GET"],
                         response_class=HTMLResponse, response_model=None)

    def asset(name: str, request: Request) -> Response:
        if not assets.is_dir():
            return HTMLResponse(NOT_BUILT, status_code=404)
        path = assets / name
        if not _ASSET_NAME.fullmatch(name) or not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        media = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] \
            or "application/octet-stream"
        headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
        accepted = accepted_codings(request.headers.get("accept-encoding", ""))
        for encoding, suffix in _ENCODINGS:
            packed = assets / (name + suffix)
            if encoding in accepted and packed.is_file():
                return FileResponse(packed, media_type=media,
                                    headers={**headers, "Content-Encoding": encoding})
        return FileResponse(path, media_type=media, headers=headers)

    router.add_api_route("/assets/{name}", asset, methods=["GET", "HEAD"],
                         response_model=None)
    app.include_router(router)


def review_chunks(dist: Path) -> list[str]:
    """The review page's chunk and every chunk it imports statically, from Vite's manifest
    (file names under assets/); empty when the build has no manifest."""
    try:
        manifest = json.loads((dist / ".vite" / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    key = next((k for k, v in manifest.items() if v.get("src") == REVIEW_SOURCE), None)
    found: list[str] = []
    todo = [key] if key else []
    seen: set[str] = set()
    while todo:
        chunk = manifest.get(todo.pop())
        if not chunk or chunk["file"] in seen:
            continue
        seen.add(chunk["file"])
        found.append(chunk["file"].removeprefix("assets/"))
        todo += chunk.get("imports", [])
    return [name for name in found if _ASSET_NAME.fullmatch(name)]
