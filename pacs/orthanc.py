"""Thin adapter over Orthanc's REST API (https://orthanc.uclouvain.be/book/users/rest.html).

Only this module talks httpx; every transport or HTTP failure is translated into a
:class:`pacs.errors.PacsError` subclass so that callers never see httpx types.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx

from pacs.errors import OrthancNotFound, OrthancRequestError, OrthancUnavailable

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class StoredInstance:
    """Orthanc's answer to one stored instance (POST /instances)."""

    orthanc_id: str
    status: str  # "Success" or "AlreadyStored"
    parent_series: str
    parent_study: str


@dataclass(frozen=True)
class Change:
    """One entry of Orthanc's change feed (GET /changes)."""

    seq: int
    change_type: str
    resource_type: str
    orthanc_id: str


@dataclass(frozen=True)
class ChangePage:
    changes: tuple[Change, ...]
    last: int
    done: bool


class OrthancClient:
    """Synchronous Orthanc REST client with HTTP basic authentication."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.Client(base_url=url.rstrip("/"), auth=auth, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrthancClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"content": content, "params": params, "headers": headers}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.RemoteProtocolError:
                # Orthanc closes an idle kept-alive connection after 1 s (KeepAliveTimeout);
                # a request sent on it just then gets no answer. Once more, on a new one.
                # Every request of this client is safe to repeat: reads, and stores and
                # deletions that are idempotent in Orthanc.
                response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            # The message keeps only the exception class: the URL could carry credentials.
            raise OrthancUnavailable(f"Orthanc unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            message = None
            try:
                body = response.json()
                if isinstance(body, dict):
                    message = str(body.get("Details") or body.get("Message") or "")
            except ValueError:
                pass
            error = OrthancNotFound if response.status_code == 404 else OrthancRequestError
            raise error(
                f"Orthanc answered {response.status_code} to {method} {path.split('?')[0]}",
                status=response.status_code,
                orthanc_message=message,
            )
        return response

    def _json(self, path: str, **params: str | int) -> Any:
        return self._request("GET", path, params=params or None).json()

    # -- system ----------------------------------------------------------
    def system(self, *, timeout: float | None = None) -> JsonObject:
        return cast(JsonObject, self._request("GET", "/system", timeout=timeout).json())

    def is_reachable(self, *, timeout: float = 1.0) -> bool:
        try:
            self.system(timeout=timeout)
        except (OrthancUnavailable, OrthancRequestError):
            return False
        return True

    # -- change feed -----------------------------------------------------
    def changes(self, since: int, limit: int = 200) -> ChangePage:
        body = self._json("/changes", since=since, limit=limit)
        changes = tuple(
            Change(
                seq=int(c["Seq"]),
                change_type=str(c["ChangeType"]),
                resource_type=str(c["ResourceType"]),
                orthanc_id=str(c["ID"]),
            )
            for c in body["Changes"]
        )
        return ChangePage(changes=changes, last=int(body["Last"]), done=bool(body["Done"]))

    def statistics(self) -> JsonObject:
        """How much Orthanc holds: CountPatients, CountStudies, CountSeries, CountInstances."""
        return cast(JsonObject, self._json("/statistics"))

    # -- resources -------------------------------------------------------
    def resources(self, level: str) -> list[JsonObject]:
        """Every resource of a level ("patients", "studies", "series", "instances"), expanded."""
        return cast(list[JsonObject], self._json(f"/{_level(level)}", expand=""))

    def resource_ids(self, level: str) -> list[str]:
        """The Orthanc identifiers of every resource of a level (one short answer)."""
        return [str(i) for i in self._json(f"/{_level(level)}")]

    def patient(self, orthanc_id: str) -> JsonObject:
        return cast(JsonObject, self._json(f"/patients/{orthanc_id}"))

    def series(self, orthanc_id: str) -> JsonObject:
        return cast(JsonObject, self._json(f"/series/{orthanc_id}"))

    def series_instances(self, orthanc_id: str) -> list[JsonObject]:
        """Instances of a series with their main DICOM tags (read from Orthanc's index)."""
        return cast(list[JsonObject], self._json(f"/series/{orthanc_id}/instances"))

    def study(self, orthanc_id: str) -> JsonObject:
        return cast(JsonObject, self._json(f"/studies/{orthanc_id}"))

    def instance(self, orthanc_id: str) -> JsonObject:
        return cast(JsonObject, self._json(f"/instances/{orthanc_id}"))

    def instance_tags(self, orthanc_id: str) -> JsonObject:
        """All tags of one instance, simplified to keyword -> value (reads the file)."""
        return cast(JsonObject, self._json(f"/instances/{orthanc_id}/simplified-tags"))

    def instance_element(self, orthanc_id: str, group: int, element: int) -> bytes | None:
        """The raw bytes of one top-level element of an instance as stored (no transcoding),
        or None when the instance has no such element."""
        try:
            return self._request(
                "GET", f"/instances/{orthanc_id}/content/{group:04x}-{element:04x}").content
        except OrthancNotFound:
            return None

    def instance_file(self, orthanc_id: str) -> bytes:
        return self._request("GET", f"/instances/{orthanc_id}/file").content

    def series_dicom_json(self, study_uid: str, series_uid: str) -> bytes:
        """The series' metadata from Orthanc's DICOMweb plugin (WADO-RS, DICOM JSON), raw.

        UIDs only (callers check them against the UID grammar): they go into the path."""
        return self._request(
            "GET", f"/dicom-web/studies/{study_uid}/series/{series_uid}/metadata",
            headers={"Accept": "application/dicom+json"}).content

    def instance_metadata(self, orthanc_id: str, name: str) -> str | None:
        """One metadata item Orthanc keeps on an instance (e.g. "TransferSyntax")."""
        try:
            return self._request("GET", f"/instances/{orthanc_id}/metadata/{name}").text
        except OrthancNotFound:
            return None

    def instance_raw_frame(self, orthanc_id: str, frame: int = 0) -> bytes:
        """The frame's pixel data as stored: uncompressed only for native transfer syntaxes."""
        return self._request("GET", f"/instances/{orthanc_id}/frames/{frame}/raw").content

    def instance_numpy(self, orthanc_id: str, frame: int | None = None) -> bytes:
        """The decoded pixels as a .npy file (Orthanc >= 1.10), stored values (no rescale),
        shape (frames, rows, columns, samples), or of one frame (0-based) only; any
        transfer syntax Orthanc decodes."""
        path = f"/instances/{orthanc_id}" + (f"/frames/{frame}" if frame is not None else "")
        return self._request("GET", f"{path}/numpy", params={"rescale": "0"}).content

    def lookup(self, uid: str) -> list[JsonObject]:
        """Orthanc resources whose DICOM UID or identifier equals ``uid``."""
        response = self._request("POST", "/tools/lookup", content=uid.encode("ascii"))
        return cast(list[JsonObject], response.json())

    def find_instance(self, sop_instance_uid: str) -> str | None:
        for hit in self.lookup(sop_instance_uid):
            if hit.get("Type") == "Instance":
                return str(hit["ID"])
        return None

    # -- writes ----------------------------------------------------------
    def store(self, dicom_file: bytes) -> StoredInstance:
        body = self._request(
            "POST",
            "/instances",
            content=dicom_file,
            headers={"Content-Type": "application/dicom"},
        ).json()
        return StoredInstance(
            orthanc_id=str(body["ID"]),
            status=str(body["Status"]),
            parent_series=str(body["ParentSeries"]),
            parent_study=str(body["ParentStudy"]),
        )

    def anonymized_instance(self, orthanc_id: str, request: Mapping[str, Any]) -> bytes:
        """The instance anonymized by Orthanc (``POST /instances/{id}/anonymize``) as a
        Part 10 file; Orthanc does not store it."""
        return self._request("POST", f"/instances/{orthanc_id}/anonymize",
                             content=json.dumps(request).encode(),
                             headers={"Content-Type": "application/json"}).content

    def delete_instance(self, orthanc_id: str) -> None:
        self._request("DELETE", f"/instances/{orthanc_id}")

    def delete(self, level: str, orthanc_id: str) -> None:
        """Delete a patient, study, series or instance with everything in it."""
        self._request("DELETE", f"/{_level(level)}/{orthanc_id}")

    # -- DICOM peers (Orthanc "modalities", kept in Orthanc's database) ---
    def put_modality(self, name: str, *, aet: str, host: str, port: int) -> None:
        """Register a peer that may C-STORE into Orthanc (checked by AE title and host)."""
        body = {
            "AET": aet,
            "Host": host,
            "Port": port,
            "AllowEcho": True,
            "AllowStore": True,
            "AllowFind": False,
            "AllowMove": False,
            "AllowGet": False,
        }
        self._request("PUT", f"/modalities/{name}", content=json.dumps(body).encode())

    def put_remote_pacs(self, name: str, *, aet: str, host: str, port: int) -> None:
        """Register a PACS that Orthanc queries (C-FIND) and moves from (C-MOVE): the PACS
        sends the moved images back by C-STORE as this AET from this host, so it may store;
        it may not query or move from Orthanc."""
        body = {"AET": aet, "Host": host, "Port": port, "AllowEcho": True,
                "AllowStore": True, "AllowFind": False, "AllowMove": False, "AllowGet": False}
        self._request("PUT", f"/modalities/{name}", content=json.dumps(body).encode())

    def remote_find(self, name: str, level: str, query: Mapping[str, str]) -> list[JsonObject]:
        """C-FIND on a registered modality (``POST /modalities/{name}/query``); its
        answers, each as keyword -> value."""
        body = {"Level": level, "Query": dict(query)}
        found = self._request("POST", f"/modalities/{name}/query",
                              content=json.dumps(body).encode()).json()
        answers = self._json(f"/queries/{found['ID']}/answers", expand="", simplify="")
        with contextlib.suppress(OrthancRequestError):  # Orthanc also forgets them itself
            self._request("DELETE", f"/queries/{found['ID']}")
        return cast(list[JsonObject], answers)

    def remote_move(self, name: str, level: str, resource: Mapping[str, str], *,
                    target_aet: str, timeout_s: float) -> None:
        """C-MOVE of one resource from a registered modality to ``target_aet``
        (``POST /modalities/{name}/move``, synchronous: it returns once the move ended)."""
        body = {"Level": level, "Resources": [dict(resource)], "TargetAet": target_aet,
                "Synchronous": True, "Timeout": int(timeout_s)}
        self._request("POST", f"/modalities/{name}/move", content=json.dumps(body).encode(),
                      timeout=timeout_s + 30)

    def modalities(self) -> dict[str, JsonObject]:
        """The registered peers by name, each with its AET, Host and Port."""
        return cast(dict[str, JsonObject], self._json("/modalities", expand=""))

    def delete_modality(self, name: str) -> None:
        self._request("DELETE", f"/modalities/{name}")


def _level(level: str) -> str:
    if level not in ("patients", "studies", "series", "instances"):
        raise ValueError(f"unknown Orthanc resource level {level!r}")
    return level
