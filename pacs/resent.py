"""Instances sent again by C-STORE under a SOP Instance UID Orthanc already holds.

Orthanc answers such a C-STORE with success and keeps the first version
(``OverwriteInstances: false``), telling no one. A Lua ``ReceivedInstanceFilter``
(Orthanc Book, "Lua scripting"), which Orthanc calls for every instance it receives,
before it stores it and for copies it will not store too, looks the SOP Instance UID up
(``/tools/lookup``, a read) and, for one Orthanc holds, posts what it noted of the copy
(its attributes, transfer syntax, the AE title that sent it, the stored instance's Orthanc
id) to Nadir over loopback with the shared secret of the stable-series post
(pacs/stable_push.py). Nadir only queues it; ingest compares the attributes with the stored
instance's later (:func:`differing_tags`). Orthanc hands Lua the attributes, not the pixel
data, so a copy that differs only in its pixels is not seen this way.

The filter writes nothing to Orthanc. It used to note the copy as instance metadata with
``RestApiPut`` from inside the filter, and Orthanc 1.10.1 then corrupted its heap under
concurrent C-STOREs of copies ("malloc(): unaligned fastbin chunk detected") and died.
Every failure inside the filter (Nadir down, a timeout, a body Nadir refuses) is caught
(``pcall``): the C-STORE is accepted as Orthanc would accept it, and that copy goes
unnoticed.

The filter serialises the copy in plain Lua, not with Orthanc's ``DumpJson``: on Orthanc
1.10.1, ``DumpJson`` of the attributes of a real series (nested sequences) from inside the
filter corrupted Orthanc's heap too (measured: the demo's second push crashed Orthanc with
``DumpJson`` alone and no post, and never with the plain-Lua encoder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pacs.errors import PacsError
from pacs.stable_push import PUSH_SECRET_HEADER, check_push_target

#: Encoding and reception, not content (PS3.5 7.2, 7.8; PS3.10 7.1): not compared.
NOT_CONTENT = frozenset({"PixelData", "DataSetTrailingPadding", "FloatPixelData",
                         "DoubleFloatPixelData", "SpecificCharacterSet"})
#: PS3.5 6.2: an AE title is at most 16 characters.
AE_TITLE_MAX = 16


def resent_watch_lua(url: str, secret: str) -> str:
    """The Lua filter: every instance received by C-STORE is accepted as Orthanc would
    accept it (it keeps the first version of a SOP Instance UID it holds), and a copy of
    one it holds is posted to ``url`` (loopback only) for ingest to compare."""
    check_push_target(url, secret, what="re-sent copy")
    return (
        "-- Written by Nadir: tell it of C-STORE copies of instances Orthanc already holds.\n"
        "-- Nothing is written to Orthanc from here (see pacs/resent.py).\n"
        "-- JSON in plain Lua: Orthanc 1.10.1's DumpJson of the attributes, called from\n"
        "-- here, corrupted Orthanc's heap under concurrent C-STOREs (see pacs/resent.py).\n"
        "local function NadirJsonString(text)\n"
        "  local escaped = string.gsub(text, '[%c\"\\\\]', function(c)\n"
        "    if c == '\"' then return '\\\\\"' end\n"
        "    if c == '\\\\' then return '\\\\\\\\' end\n"
        "    return string.format('\\\\u%04x', string.byte(c))\n"
        "  end)\n"
        "  return '\"' .. escaped .. '\"'\n"
        "end\n"
        "\n"
        "local function NadirJson(value)\n"
        "  local kind = type(value)\n"
        "  if kind == 'string' then\n"
        "    return NadirJsonString(value)\n"
        "  elseif kind == 'boolean' then\n"
        "    return tostring(value)\n"
        "  elseif kind == 'number' then\n"
        "    if value ~= value or value == math.huge or value == -math.huge then\n"
        "      return 'null'\n"
        "    end\n"
        "    return string.format('%.17g', value)\n"
        "  elseif kind == 'table' then\n"
        "    local parts = {}\n"
        "    if next(value) == nil or value[1] ~= nil then\n"
        "      for _, item in ipairs(value) do\n"
        "        parts[#parts + 1] = NadirJson(item)\n"
        "      end\n"
        "      return '[' .. table.concat(parts, ',') .. ']'\n"
        "    end\n"
        "    for key, item in pairs(value) do\n"
        "      parts[#parts + 1] = NadirJsonString(tostring(key)) .. ':' .. NadirJson(item)\n"
        "    end\n"
        "    return '{' .. table.concat(parts, ',') .. '}'\n"
        "  end\n"
        "  return 'null'\n"
        "end\n"
        "\n"
        "local function NadirNoteCopy(dicom, origin, info)\n"
        "  local uid = dicom['SOPInstanceUID']\n"
        "  if uid == nil or uid == '' then\n"
        "    return\n"
        "  end\n"
        "  local hits = ParseJson(RestApiPost('/tools/lookup', uid))\n"
        "  for _, hit in ipairs(hits) do\n"
        "    if hit['Type'] == 'Instance' then\n"
        "      local copy = { instance = hit['ID'], tags = dicom,\n"
        "                     transfer_syntax = info and info['TransferSyntaxUID'],\n"
        "                     remote_aet = origin['RemoteAet'] }\n"
        f"      HttpPost('{url}', NadirJson(copy),\n"
        "               { ['Content-Type'] = 'application/json',\n"
        f"                 ['{PUSH_SECRET_HEADER}'] = '{secret}' }})\n"
        "    end\n"
        "  end\n"
        "end\n"
        "\n"
        "function ReceivedInstanceFilter(dicom, origin, info)\n"
        "  if origin['RequestOrigin'] == 'DicomProtocol' then\n"
        "    -- A failure here must never refuse the C-STORE.\n"
        "    pcall(NadirNoteCopy, dicom, origin, info)\n"
        "  end\n"
        "  return true\n"
        "end\n"
    )


@dataclass(frozen=True)
class ReceivedCopy:
    """What the Lua filter noted of a copy: its attributes (keyword -> value, Orthanc's
    simplified form), the AE title that sent it and its transfer syntax."""

    tags: dict[str, Any]
    remote_aet: str | None = None
    transfer_syntax: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tags, dict):
            raise PacsError(f"tags must be a JSON object, got {type(self.tags).__name__}")
        if self.remote_aet is not None and len(self.remote_aet) > AE_TITLE_MAX:
            raise PacsError(f"remote_aet must be at most {AE_TITLE_MAX} characters, got "
                            f"{self.remote_aet!r}")


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
    """Empty and absent are the same (type 2 attributes may be sent empty); an empty item
    and an empty list too (Lua, through which the copy comes, has one empty table)."""
    if value in ("", None, [], {}):
        return None
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value
