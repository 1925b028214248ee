"""Instances sent again by C-STORE under a SOP Instance UID Orthanc already holds.

Orthanc answers such a C-STORE with success and keeps the first version
(``OverwriteInstances: false``), telling no one. A Lua ``ReceivedInstanceFilter``
(Orthanc Book, "Lua scripting"), which Orthanc calls for every instance it receives,
before it stores it and for copies it will not store too, notes the copy's attributes on
the stored instance as the metadata ``NadirResent`` (declared in ``UserMetadata``).
Orthanc logs that as an ``UpdatedMetadata`` change, and ingest compares the attributes with
the stored instance's (:func:`differing_tags`). Orthanc hands Lua the attributes, not the
pixel data, so a copy that differs only in its pixels is not seen this way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: The metadata the Lua filter writes (``UserMetadata`` in docker/orthanc/orthanc.json).
RESENT_METADATA = "NadirResent"
#: Encoding and reception, not content (PS3.5 7.2, 7.8; PS3.10 7.1): not compared.
NOT_CONTENT = frozenset({"PixelData", "DataSetTrailingPadding", "FloatPixelData",
                         "DoubleFloatPixelData", "SpecificCharacterSet"})


def resent_watch_lua() -> str:
    """The Lua filter: every instance received by C-STORE whose SOP Instance UID Orthanc
    holds already is accepted as Orthanc would (it keeps the first version), and its
    attributes are kept on the stored one for ingest to compare."""
    return (
        "-- Written by Nadir: note C-STORE copies of instances Orthanc already holds.\n"
        "function ReceivedInstanceFilter(dicom, origin, info)\n"
        "  if origin['RequestOrigin'] ~= 'DicomProtocol' then\n"
        "    return true\n"
        "  end\n"
        "  local uid = dicom['SOPInstanceUID']\n"
        "  if uid == nil or uid == '' then\n"
        "    return true\n"
        "  end\n"
        "  local hits = ParseJson(RestApiPost('/tools/lookup', uid))\n"
        "  for _, hit in ipairs(hits) do\n"
        "    if hit['Type'] == 'Instance' then\n"
        "      local copy = { Tags = dicom, TransferSyntaxUID = info['TransferSyntaxUID'],\n"
        "                     RemoteAet = origin['RemoteAet'] }\n"
        f"      RestApiPut('/instances/' .. hit['ID'] .. '/metadata/{RESENT_METADATA}',\n"
        "                 DumpJson(copy, true))\n"
        "    end\n"
        "  end\n"
        "  return true\n"
        "end\n"
    )


@dataclass(frozen=True)
class ReceivedCopy:
    """What the Lua filter noted of a copy: its attributes (keyword -> value, Orthanc's
    simplified form) and the AE title that sent it."""

    tags: dict[str, Any]
    remote_aet: str | None


def received_copy(metadata: str) -> ReceivedCopy | None:
    """The copy from the metadata the filter wrote; None when it cannot be read."""
    try:
        copy = json.loads(metadata)
    except ValueError:
        return None
    tags = copy.get("Tags") if isinstance(copy, dict) else None
    if not isinstance(tags, dict):
        return None
    remote = copy.get("RemoteAet")
    # PS3.5 6.2: an AE title is at most 16 characters.
    return ReceivedCopy(tags, str(remote)[:16] if remote else None)


def differing_tags(stored: dict[str, Any], received: dict[str, Any],
                   *, limit: int = 10) -> list[str]:
    """The attributes (keywords, or Orthanc's tag names for private ones) whose values
    differ between the stored instance and the copy, both in Orthanc's simplified form;
    empty when the copy holds the same attributes (a harmless resend). PS3.3 C.12.1.1.1:
    one SOP Instance UID, one instance."""
    differing: list[str] = []
    for keyword in sorted(set(stored) | set(received)):
        if keyword in NOT_CONTENT:
            continue
        if _normal(stored.get(keyword)) != _normal(received.get(keyword)):
            differing.append(keyword)
            if len(differing) >= limit:
                break
    return differing


def _normal(value: Any) -> Any:
    """Empty and absent are the same (type 2 attributes may be sent empty)."""
    if value in ("", None, []):
        return None
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value
