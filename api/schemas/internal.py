"""Internal endpoints (not in the public OpenAPI): Orthanc's stable-series post."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import StrictModel
from pacs.stable_push import ORTHANC_ID


class StableSeriesIn(StrictModel):
    series: str = Field(max_length=44, pattern=f"^{ORTHANC_ID.pattern}$",
                        description="Orthanc's id of the series it now reports stable")


class StableSeriesOut(BaseModel):
    series: str
    #: Whether this process follows the change feed (and so read it at once).
    leader: bool
