"""Internal endpoints (not in the public OpenAPI): Orthanc's stable-series and re-sent copy
posts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import StrictModel
from pacs.resent import AE_TITLE_MAX, ReceivedCopy
from pacs.stable_push import ORTHANC_ID


class StableSeriesIn(StrictModel):
    series: str = Field(max_length=44, pattern=f"^{ORTHANC_ID.pattern}$",
                        description="Orthanc's id of the series it now reports stable")


class StableSeriesOut(BaseModel):
    series: str
    #: Whether this process follows the change feed (and so read it at once).
    leader: bool


class ResentCopyIn(StrictModel):
    """What Orthanc's Lua filter noted of a copy sent again (pacs/resent.py)."""

    instance: str = Field(max_length=44, pattern=f"^{ORTHANC_ID.pattern}$",
                          description="Orthanc's id of the instance it holds already")
    tags: dict[str, Any] = Field(description="the copy's attributes, Orthanc's simplified "
                                             "JSON (keyword -> value)")
    transfer_syntax: str | None = Field(default=None, max_length=64,
                                        pattern=r"^[0-9]+(\.[0-9]+)*$")
    remote_aet: str | None = Field(default=None, max_length=AE_TITLE_MAX)

    def to_copy(self) -> ReceivedCopy:
        return ReceivedCopy(self.tags, self.remote_aet, self.transfer_syntax)


class ResentCopyOut(BaseModel):
    instance: str
    #: The copy waits in a table until ingest compares it with the stored instance.
    queued: bool
