"""``/docs``: Swagger UI from files installed with Nadir, under the pages' CSP (issue 15).

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; this one
serves the bundle and the stylesheet of the pinned PyPI package ``fastapi-swagger`` (they
are swagger-ui-dist's files, byte for byte) and starts Swagger UI from a script file.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

#: swagger-ui-dist 5.34.0, as shipped by fastapi-swagger 0.4.64 (tests check the digests).
SWAGGER_UI = Path(str(resources.files("fastapi_swagger") / "resources"))
SWAGGER_UI_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Nadir API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
# What FastAPI's page passes to SwaggerUIBundle, less the OAuth2 redirect Nadir has no use for,
# and no online validator (Swagger UI would send the document's URL to swagger.io's).
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  validatorUrl: null,
  dom_id: '#swagger-ui',
  layout: 'BaseLayout',
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (create the app with ``docs_url=None`` so FastAPI's page is off)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE, headers={"Cache-Control": "no-cache"})

    @router.get("/docs/init.js", response_class=Response)
    def docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})

    for name, media_type in SWAGGER_UI_FILES.items():
        router.add_api_route(f"/docs/{name}", _asset(SWAGGER_UI / name, media_type),
                             methods=["GET"], response_class=FileResponse)
    app.include_router(router)


def _asset(path: Path, media_type: str) -> Callable[[], FileResponse]:
    """A route answering one fixed file (it takes no parameter at all)."""
    def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type,
                            headers={"Cache-Control": "public, max-age=86400"})

    return asset
