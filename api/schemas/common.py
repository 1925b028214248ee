"""What every concern's wire types share: request text without NUL, whole numbers,
UIDs, the base of strict requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from measurement.vocabulary import Criteria, LesionKind

LesionKindName = Literal["target", "non_target", "new"]
CriteriaName = Literal["RECIST1.1", "iRECIST"]
W = TypeVar("W", bound=str)

#: The vocabulary's enums by their wire names (the literals above keep /openapi.json's
#: inline enums); an unknown word raises ValueError, as a bad row should.
_KIND_NAMES: Mapping[LesionKind, LesionKindName] = MappingProxyType({
    LesionKind.TARGET: "target", LesionKind.NON_TARGET: "non_target", LesionKind.NEW: "new"})
_CRITERIA_NAMES: Mapping[Criteria, CriteriaName] = MappingProxyType({
    Criteria.RECIST_1_1: "RECIST1.1", Criteria.IRECIST: "iRECIST"})


def kind_name(kind: str) -> LesionKindName:
    """A lesion kind (``LesionKind`` or its value) as the API spells it."""
    return _KIND_NAMES[LesionKind(kind)]


def criteria_name(criteria: str) -> CriteriaName:
    """The criteria (``Criteria`` or its value) as the API spells them."""
    return _CRITERIA_NAMES[Criteria(criteria)]


def one_of(value: str, words: tuple[W, ...]) -> W:
    """``value`` as one of the wire's words (a ``Literal`` of the response model); a stored
    word outside them raises ValueError, as a bad row should."""
    for word in words:
        if word == value:
            return word
    raise ValueError(f"{value!r} is not one of {', '.join(words)}")


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no DICOM identifier or name contains one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def whole_number(value: object) -> object:
    # JSON has one number type, and JSON Schema's "integer" admits 778.0: take it as 778.
    # 778.5, "778" and true stay refused (strict integers).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A request integer: a JSON number without a fraction (778 or 778.0), never a string.
WholeNumber = Annotated[StrictInt, BeforeValidator(whole_number)]


#: The JSON Schema pattern of text without NUL (ECMA-262, as OpenAPI 3.1 patterns are):
#: the document says what the validator refuses.
NO_NUL_PATTERN = "^[^\\u0000]*$"

#: Request text: any string without NUL characters.
Text = Annotated[str, AfterValidator(_no_nul),
                 Field(json_schema_extra={"pattern": NO_NUL_PATTERN})]


#: A DICOM Patient ID as the index stores it (LO is 64 characters; the column holds 128).
PatientIdText = Annotated[Text, Field(min_length=1, max_length=128)]


#: A DICOM UID (PS3.5 9.1: at most 64 characters).
UidText = Annotated[Text, Field(min_length=1, max_length=64)]


def iso_text(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


class RequestModel(BaseModel):
    # A misspelt key ("is_nodal" for "nodal") would silently change the answer: refuse it.
    model_config = ConfigDict(extra="forbid")


def iso_date_text(value: object) -> object:
    # An ISO date string only: pydantic would also take a number of seconds since 1970.
    if not isinstance(value, str):
        raise ValueError("must be an ISO date string (YYYY-MM-DD)")
    return value


#: What ``date_source`` says.
DATE_SOURCE_HELP = ("the attribute the date was read from: StudyDate, else the first of "
                    "SeriesDate, AcquisitionDate, ContentDate; 'set for this case' when a "
                    "radiologist dated a study whose DICOM has no date")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
