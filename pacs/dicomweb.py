"""Streaming reads from Orthanc's DICOMweb plugin (QIDO-RS and WADO-RS, PS3.18).

The service proxies the browser's image reads through here, so that Orthanc's own
credentials stay on the server: the response headers passed on are a fixed list, and
Orthanc is told the public host (RFC 7239 ``Forwarded``) so that the URLs it writes into
metadata (BulkDataURI, RetrieveURL) point back at the proxy, not at Orthanc.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx

from pacs.dicomweb_routes import DicomWebRoute
from pacs.errors import OrthancUnavailable, PacsError

#: Request headers worth passing to Orthanc; everything else (cookies, the user's own
#: Authorization) stays behind.
FORWARDED_REQUEST_HEADERS = ("accept", "if-none-match", "if-modified-since")
#: Response headers passed back to the browser.
PASSED_RESPONSE_HEADERS = ("content-type", "content-length", "content-encoding", "etag",
                           "last-modified", "cache-control")


@dataclass
class StreamedResponse:
    """Orthanc's answer, body not yet read: iterate ``body``, then ``await close()``."""

    status: int
    headers: dict[str, str]
    _response: httpx.Response

    async def body(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TransportError:
            # Orthanc went away mid-body: the client sees a truncated transfer.
            return

    async def close(self) -> None:
        await self._response.aclose()


class ReadOnlyViolation(PacsError):
    """Something tried to send Orthanc a request other than a GET through the image proxy."""


async def _only_get(request: httpx.Request) -> None:
    # Orthanc's users have no roles: the proxy's client itself never writes, whatever asks.
    if request.method != "GET" or b"_method" in request.url.query:
        raise ReadOnlyViolation(f"the image proxy only reads; refused {request.method}")


class DicomWebGateway:
    """An async, read-only client of Orthanc's DICOMweb root, as the image proxy's user.

    ``public_host`` and ``public_proto`` are where clients reach Nadir (NADIR_PUBLIC_URL):
    Orthanc writes them into the URLs of its answers, never the client's own Host header.
    """

    def __init__(self, url: str, username: str | None, password: str | None, *,
                 public_host: str, public_proto: str = "http", root: str = "/dicom-web/",
                 timeout: float = 60.0) -> None:
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._root = "/" + root.strip("/") + "/"
        # Unquoted: Orthanc's DICOMweb plugin copies a quoted host, quotes included, into the
        # URLs it writes (RetrieveURL, BulkDataURI).
        self._forwarded = f"host={public_host};proto={public_proto}"
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), auth=auth,
                                       timeout=httpx.Timeout(timeout, connect=5.0),
                                       event_hooks={"request": [_only_get]})

    async def get(self, route: DicomWebRoute, headers: Mapping[str, str]) -> StreamedResponse:
        """GET the parsed DICOMweb resource from Orthanc, streamed."""
        sent = {k: v for k, v in headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        sent["Forwarded"] = self._forwarded
        query = route.upstream_query
        url = self._root + route.upstream_path + (f"?{query}" if query else "")
        try:
            response = await self._http.send(self._http.build_request("GET", url, headers=sent),
                                             stream=True)
        except httpx.TransportError as exc:
            raise OrthancUnavailable(f"Orthanc unreachable ({type(exc).__name__})") from None
        passed = {k: v for k, v in response.headers.items()
                  if k.lower() in PASSED_RESPONSE_HEADERS}
        return StreamedResponse(response.status_code, passed, response)

    async def aclose(self) -> None:
        await self._http.aclose()
