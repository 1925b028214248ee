"""One vocabulary across layers, and one table from application errors to HTTP statuses."""

from __future__ import annotations

import pytest

from api.errors import status_of
from api.workflow import errors
from imaging.sr import codes
from imaging.sr.model import LesionKind as SrLesionKind
from imaging.sr.model import LesionStatus as SrLesionStatus
from measurement.model import NewLesionStatus, NonTargetStatus, TargetStatus
from measurement.vocabulary import (
    NEW_LESION_STATUSES,
    NON_TARGET_STATUSES,
    STATUSES_BY_KIND,
    TARGET_STATUSES,
    LesionKind,
    LesionStatus,
    organ_key,
)


def test_recorded_statuses_are_the_engines_plus_disappeared() -> None:
    engine = ({s.value for s in TargetStatus} | {s.value for s in NonTargetStatus}
              | {s.value for s in NewLesionStatus})
    assert {s.value for s in LesionStatus} == engine | {"disappeared"}
    assert set(NEW_LESION_STATUSES) | set(NON_TARGET_STATUSES) == set(LesionStatus)
    assert not set(TARGET_STATUSES) & set(NON_TARGET_STATUSES)
    # Issue 16: a new lesion takes a target's statuses and iRECIST's new-lesion
    # non-target statuses (present, increased, absent).
    assert set(NEW_LESION_STATUSES) - set(TARGET_STATUSES) == {
        LesionStatus(s.value) for s in NewLesionStatus}
    assert set(STATUSES_BY_KIND) == set(LesionKind)


def test_the_sr_uses_the_same_words_and_has_a_code_for_each() -> None:
    assert SrLesionKind is LesionKind and SrLesionStatus is LesionStatus
    assert set(codes.LESION_STATUS_CODES) == {s.value for s in LesionStatus}
    assert set(codes.LESION_KIND_CODES) == {k.value for k in LesionKind}


@pytest.mark.parametrize(("name", "key"), [
    ("Lungs", "lung"), ("  pulmonary ", "lung"), ("Lymph  Nodes", "lymph node"),
    ("Liver", "liver"), ("hepatic", "liver"), ("Adrenal", "adrenal gland")])
def test_organ_keys(name: str, key: str) -> None:
    assert organ_key(name) == key


@pytest.mark.parametrize(("error", "status"), [
    (errors.NotAuthenticated("x"), 401), (errors.NotAllowed("x"), 403),
    (errors.CaseNotFound(1), 404), (errors.LesionNotFound(1, 2), 404),
    (errors.TimepointNotFound("1.2", 1), 404), (errors.PatientNotFound("p"), 404),
    (errors.Conflict("x"), 409), (errors.TimepointSignedOff("1.2"), 409),
    (errors.NotEvaluable("x"), 409), (errors.StaleVersion("x"), 412),
    (errors.InvalidInput("x"), 422), (errors.InvalidMeasurement("x"), 422),
    (errors.MalformedPayload("x"), 400), (errors.PayloadTooLarge("x"), 413),
    (errors.UnsupportedMediaType("x"), 415), (errors.NotAcceptable("x"), 406),
])
def test_each_application_error_has_its_status(error: errors.WorkflowError, status: int) -> None:
    assert status_of(error) == status


def test_the_engine_counts_organs_by_the_same_key() -> None:
    """RECIST 1.1 s.3.1.3: at most two target lesions per organ; "Lungs" and "lung" are
    one organ for that rule, as they are for the SR's finding site."""
    from measurement.model import TargetLesion, mm
    from measurement.selection import organ_key as engine_key

    a = TargetLesion(id="T1", organ="Lungs", measurements={"BL": mm(20)})
    b = TargetLesion(id="T2", organ="pulmonary ", measurements={"BL": mm(20)})
    assert engine_key(a) == engine_key(b) == organ_key("lung")


def test_the_readme_tables_every_warning_code_with_its_rule() -> None:
    """Issue 16: the README says what each warning means and which rule it comes from."""
    from pathlib import Path

    from measurement.result import WarningCode

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip(" `") for line in readme.splitlines()
            if line.startswith("| `")}
    assert {code.value for code in WarningCode} <= rows
