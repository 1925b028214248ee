"""Path parameters shared by the routers: database ids within the database's range."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from api.adapters.sql_store import MAX_ID


def _id(what: str) -> object:
    return Path(ge=1, le=MAX_ID, description=f"the {what}'s id (1 to {MAX_ID})")


CaseId = Annotated[int, _id("case")]
LesionId = Annotated[int, _id("lesion")]
ComparisonId = Annotated[int, _id("comparison")]
DraftId = Annotated[int, _id("SR draft")]
TimepointId = Annotated[str, Path(min_length=1, max_length=64,
                                  description="the timepoint: its Study Instance UID")]
StudyUid = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$",
                               description="a Study Instance UID (digits and dots)")]
ShareId = Annotated[int, _id("share")]
