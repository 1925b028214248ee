"""The review workstation's pages: the built front end (web/dist), served on the API's origin.

``/``, ``/login`` and ``/cases/{id}`` are the single-page application's routes and all
answer its index.html; the bundles, workers and codecs live under ``/assets/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

#: Where `scripts/setup.sh` builds the front end (npm run build in web/).
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
NOT_BUILT = (
    "<!doctype html><title>Nadir</title><p>The review workstation is not built yet. "
    "Run <code>bash scripts/setup.sh</code> (it builds <code>web/</code> with npm); "
    "the API is at <a href=\"/docs\">/docs</a>.</p>"
)


def install_web(app: FastAPI, dist: Path = WEB_DIST) -> None:
    router = APIRouter(include_in_schema=False)

    def index() -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        # The page is small and changes with every build: never cached; assets are hashed.
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    for path in ("/", "/login", "/cases/{case_id}"):
        router.add_api_route(path, index, methods=["GET"], response_class=HTMLResponse,
                             response_model=None)
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    else:
        def not_built(path: str) -> Response:
            return HTMLResponse(NOT_BUILT, status_code=404)

        router.add_api_route("/assets/{path:path}", not_built, methods=["GET"],
                             response_class=HTMLResponse, response_model=None)
    app.include_router(router)
