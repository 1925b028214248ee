"""Who is calling, and how the service is."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MeOut(BaseModel):
    name: str
    role: Literal["uploader", "radiologist", "specialist", "admin", "reviewer"]
    review_case_id: int | None = Field(
        default=None, description="a share token's (role reviewer) review case: the one case "
        "it reads and measures")


class IngestHealth(BaseModel):
    leader: bool = Field(description="whether this process follows Orthanc's change feed")
    cursor: int
    indexed_series: int
    last_error: str | None
    pushes: int = Field(description="stable-series posts from Orthanc this process received")


class HealthOut(BaseModel):
    status: Literal["ok"]
    orthanc: Literal["ok", "unreachable"]
    database: Literal["ok", "unreachable"]
    version: str
    ingest: IngestHealth
