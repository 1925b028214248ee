"""Security headers on every HTTP answer: a Content-Security-Policy, ``nosniff`` and
``no-referrer`` (issue 15). A pure ASGI middleware: it only rewrites the start message.

Three policies, chosen by the path and the answer's media type:

* **pages** (the workstation, its assets and workers, ``/docs``): scripts from this origin
  only and never inline; WebAssembly compiled by the image loader's codecs
  (``'wasm-unsafe-eval'``); workers from this origin or ``blob:``; the HTML report shown in
  a sandboxed frame from a ``blob:`` URL. Inline styles are allowed because that report,
  like every ``blob:`` document, runs under the policy of the page that made it, and its
  layout is one ``<style>`` block (no script can run in it: the frame is sandboxed and the
  page's ``script-src`` has no ``'unsafe-inline'``).
* **API documents**: an HTML answer of the API (the report) is sandboxed into an opaque
  origin, so nothing in it can reach the workstation's storage, and may use only its own
  inline styles and ``data:`` images.
* **API answers**: nothing may load, and a browser that opens one as a page gets an opaque
  origin.

Any Content-Security-Policy set further in (by a route or an upstream server behind the
DICOMweb proxy) is replaced, never merged.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NO_FRAMING = "frame-ancestors 'none'; base-uri 'none'"

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src blob:",
    "object-src 'none'",
    "form-action 'self'",
    _NO_FRAMING,
])
API_DOCUMENT_POLICY = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; "
                       f"img-src data:; form-action 'none'; {_NO_FRAMING}")
API_POLICY = f"sandbox; default-src 'none'; form-action 'none'; {_NO_FRAMING}"

#: Paths whose answers are the API's, not pages (everything else is a page or its asset).
API_PREFIXES = ("/api/", "/dicom-web/", "/healthz", "/openapi.json")

_REPLACED = {b"content-security-policy", b"x-content-type-options", b"referrer-policy"}


def policy_for(path: str, content_type: str) -> str:
    """The Content-Security-Policy of an answer to ``path`` with that media type."""
    if not path.startswith(API_PREFIXES):
        return PAGE_POLICY
    media = content_type.split(";", 1)[0].strip().lower()
    return API_DOCUMENT_POLICY if media == "text/html" else API_POLICY


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw: list[tuple[bytes, bytes]] = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() not in _REPLACED]
                content_type = next((v.decode("latin-1") for k, v in raw
                                     if k.lower() == b"content-type"), "")
                raw += [
                    (b"content-security-policy", policy_for(path, content_type).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
