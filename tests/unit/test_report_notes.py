"""Plain-language notes: what each reading means, what could change it, and the disclaimer."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from api.report.errors import InvalidReportData
from api.report.model import ReportData
from api.report.notes import CAUTION_KINDS, DISCLAIMER, NOTE_KINDS, Note, report_notes
from measurement.result import WarningCode
from tests.unit.test_report_factories import (
    BASELINE_DATE,
    baseline_row,
    follow_up_row,
    key_image,
    lesion,
    report,
)

FU1 = BASELINE_DATE + datetime.timedelta(days=56)
FU2 = BASELINE_DATE + datetime.timedelta(days=112)


def latest(overall: str, sum_mm: float = 80.0, *, criteria: str = "RECIST1.1",
           **row: object) -> ReportData:
    """Baseline 100 mm and one follow-up with the given overall response."""
    fu = follow_up_row("FU1", FU1, sum_mm, baseline_mm=100.0, nadir_mm=100.0,
                       overall=overall, **row)  # type: ignore[arg-type]
    lesions = [lesion("T1", [("BL", 60.0, None), ("FU1", sum_mm * 0.6, None)]),
               lesion("T2", [("BL", 40.0, None), ("FU1", sum_mm * 0.4, None)])]
    return report([baseline_row(100.0), fu], lesions, criteria=criteria, best=overall)


def kinds(notes: tuple[Note, ...]) -> list[str]:
    return [note.kind for note in notes]


def first(notes: tuple[Note, ...], kind: str) -> Note:
    return next(note for note in notes if note.kind == kind)


@pytest.mark.parametrize(("overall", "sum_mm", "title", "words"), [
    ("CR", 0.0, "CR — complete response", "can be seen on this scan any more"),
    ("PR", 65.0, "PR — partial response", "at least 30 % smaller"),
    ("SD", 90.0, "SD — stable disease", "not shrunk enough"),
    ("PD", 130.0, "PD — progressive disease", "grew by at least 20 % and at least 5 mm"),
    ("NE", 80.0, "NE — not evaluable", "could not be assessed completely"),
    ("NON_CR_NON_PD", 80.0, "non-CR/non-PD — neither complete response nor progression",
     "followed by eye"),
])
def test_latest_response_is_explained(overall: str, sum_mm: float, title: str,
                                      words: str) -> None:
    notes = report_notes(latest(overall, sum_mm))
    assert notes[0].kind == "response"
    assert notes[0].title == f"Latest scan ({FU1.isoformat()}): {title}"
    assert words in notes[0].text


def test_partial_response_gives_the_change_in_words() -> None:
    text = report_notes(latest("PR", 65.0))[0].text
    assert "the total is 35.0 % smaller than at the start" in text
    assert "has not gone" in text


def test_stable_disease_can_be_meaningful() -> None:
    notes = report_notes(latest("SD", 90.0))
    assert kinds(notes)[:2] == ["response", "stable_disease"]
    note = first(notes, "stable_disease")
    assert note.title == "Why stable disease can matter" and "under control" in note.text
    assert "stable_disease" not in kinds(report_notes(latest("PR", 65.0)))


def test_progression_names_its_reasons() -> None:
    text = report_notes(latest("PD", 130.0, non_target="PD", new_lesions=True))[0].text
    assert "grew by at least 20 % and at least 5 mm over their smallest total so far " \
           "(+30.0 %, +30.0 mm)" in text
    assert "clearly worsened" in text and "a new lesion was found" in text
    assert "for the oncologist to decide" in text


def test_unconfirmed_progression_under_irecist_asks_for_a_later_scan() -> None:
    notes = report_notes(latest("iUPD", 130.0, criteria="iRECIST", target="PD"))
    assert notes[0].title.endswith("iUPD — unconfirmed progression (iRECIST)")
    text = notes[0].text
    assert "Immunotherapy can cause temporary growth" in text
    assert "A later scan" in text and "confirm or rule out progression" in text
    confirmed = report_notes(latest("iCPD", 140.0, criteria="iRECIST", target="PD"))[0]
    assert "confirmed" in confirmed.text and "iCPD" in confirmed.title


def test_irecist_categories_read_like_their_recist_counterparts() -> None:
    text = report_notes(latest("iPR", 65.0, criteria="iRECIST", target="PR"))[0].text
    assert "at least 30 % smaller" in text
    assert "stable_disease" in kinds(report_notes(latest("iSD", 90.0, criteria="iRECIST",
                                                         target="SD")))


def test_mixed_response_is_flagged_for_specialist_review() -> None:
    notes = report_notes(latest("SD", 90.0, mixed=True))
    note = first(notes, "mixed_response")
    assert note.title == "Mixed response: flagged for specialist review"
    assert FU1.isoformat() in note.text and "some tumours shrank" in note.text
    assert note.caution
    assert "mixed_response" not in kinds(report_notes(latest("SD", 90.0)))


def test_new_lesion_is_explained_per_criteria() -> None:
    fu = follow_up_row("FU1", FU1, 80.0, baseline_mm=100.0, nadir_mm=100.0, overall="PD",
                       new_lesions=True)
    lesions = [lesion("T1", [("BL", 100.0, None), ("FU1", 80.0, None)]),
               lesion("N1", [("FU1", 12.0, None)], kind="new", organ="bone")]
    recist = first(report_notes(report([baseline_row(100.0), fu], lesions)), "new_lesion")
    assert "(N1)" in recist.text and "means progression" in recist.text
    assert "Not every new spot is cancer" in recist.text
    irecist = report_notes(report(
        [baseline_row(100.0), dataclasses.replace(fu, overall_response="iUPD")], lesions,
        criteria="iRECIST"))
    assert "unconfirmed progression (iUPD)" in first(irecist, "new_lesion").text


def test_not_evaluable_lesions_make_the_reading_incomplete() -> None:
    rows = [baseline_row(50.0),
            follow_up_row("FU1", FU1, 20.0, baseline_mm=50.0, nadir_mm=50.0, overall="NE"),
            follow_up_row("FU2", FU2, 30.0, baseline_mm=50.0, nadir_mm=50.0, overall="SD")]
    lesions = [lesion("T1", [("BL", 30.0, None), ("FU1", 20.0, None), ("FU2", 18.0, None)]),
               lesion("T2", [("BL", 20.0, None), ("FU1", None, "not_evaluable"),
                             ("FU2", 12.0, None)]),
               lesion("NT1", [("BL", None, "present"), ("FU2", None, "not_evaluated")],
                      kind="non_target")]
    notes = report_notes(report(rows, lesions))
    note = first(notes, "incomplete")
    assert f"{FU1.isoformat()}: T2, NT1; {FU2.isoformat()}: NT1" in note.text
    assert "not evaluable" in note.text
    assert "incomplete" not in kinds(report_notes(latest("PR", 65.0)))


def test_protocol_warnings_are_explained() -> None:
    data = latest("PR", 65.0)
    data = report(data.timepoints, data.lesions, best="PR", warnings=[
        (WarningCode.TOO_MANY_TARGETS.value, "6 target lesions; RECIST 1.1 allows 5"),
        (WarningCode.TARGET_BELOW_MEASURABLE_SIZE.value, "T2 is 8 mm at baseline (< 10 mm)"),
        ("SOMETHING_NEW", "a check the notes do not know yet")])
    protocol = [note for note in report_notes(data) if note.kind == "protocol"]
    assert [note.title for note in protocol] == [
        "More target lesions than RECIST 1.1 allows", "A target lesion below measurable size",
        "Protocol warning (SOMETHING_NEW)"]
    assert "at most five" in protocol[0].text and "6 target lesions" in protocol[0].text
    assert "at least 10 mm" in protocol[1].text
    assert "a check the notes do not know yet" in protocol[2].text


@pytest.mark.parametrize("code", list(WarningCode))
def test_every_engine_warning_has_its_own_words(code: WarningCode) -> None:
    data = latest("PR", 65.0)
    data = report(data.timepoints, data.lesions, best="PR", warnings=[(code.value, "detail")])
    (note,) = [note for note in report_notes(data) if note.kind == "protocol"]
    assert not note.title.startswith("Protocol warning") and code.value not in note.title
    why = note.text.split("Detail: detail.")[0]
    assert len(why) > 80  # an explanation of the rule before the engine's detail


def test_new_node_and_late_confirmation_warnings_in_plain_words() -> None:
    data = latest("iPR", 65.0, criteria="iRECIST", target="PR")
    data = report(data.timepoints, data.lesions, best="iPR", criteria="iRECIST", warnings=[
        (WarningCode.NEW_NODE_NOT_PATHOLOGICAL.value, "new node N1 is 8 mm short axis"),
        (WarningCode.LATE_CONFIRMATION.value, "iCPD confirmed 84 days after iUPD")])
    node, late = [note for note in report_notes(data) if note.kind == "protocol"]
    assert node.title == "A new lymph node too small to count"
    for words in ("under 10 mm across its short axis", "not counted as a new lesion",
                  "does not mean progression", "RECIST 1.1 section 3.1.1",
                  "new node N1 is 8 mm short axis", "look at this node again"):
        assert words in node.text, words
    assert late.title == "Progression confirmed later than planned"
    for words in ("4 to 8 weeks later", "more than 8 weeks after the first sign of "
                  "progression", "iCPD confirmed 84 days after iUPD"):
        assert words in late.text, words
    for note in (node, late):  # not the baseline-selection advice
        assert "chosen at baseline" not in note.text


def test_images_that_could_not_be_shown_are_named() -> None:
    broken = key_image("FU1", FU1, 20.0, error="image 1.2.3.4 could not be shown: truncated")
    data = report([baseline_row(30.0), follow_up_row(
        "FU1", FU1, 20.0, baseline_mm=30.0, nadir_mm=30.0, overall="PR")],
        [lesion("T1", [("BL", 30.0, None), ("FU1", 20.0, None)], images=[broken])], best="PR")
    note = first(report_notes(data), "image")
    assert f"T1 on {FU1.isoformat()}: image 1.2.3.4 could not be shown" in note.text


def test_baseline_only_explains_when_response_starts() -> None:
    notes = report_notes(report([baseline_row(40.0)], [lesion("T1", [("BL", 40.0, None)])]))
    assert notes[0].title == "Baseline only"
    assert "best_response" not in kinds(notes)


@pytest.mark.parametrize("overall", ["CR", "PR", "SD", "PD", "NE", "iUPD"])
def test_every_report_ends_with_context_and_the_disclaimer(overall: str) -> None:
    criteria = "iRECIST" if overall.startswith("i") else "RECIST1.1"
    notes = report_notes(latest(overall, criteria=criteria))
    assert notes[-1] == Note("disclaimer", "About this reading", DISCLAIMER)
    assert DISCLAIMER == ("This is a computed reading to support, not replace, the "
                          "interpretation of a qualified oncologist.")
    context = notes[-2]
    assert context.kind == "context" and "tumour markers" in context.text
    assert set(kinds(notes)) <= NOTE_KINDS and CAUTION_KINDS <= NOTE_KINDS


def test_a_note_needs_a_known_kind_and_text() -> None:
    with pytest.raises(InvalidReportData, match="Note.kind"):
        Note("gossip", "t", "x")
    with pytest.raises(InvalidReportData, match="Note.text"):
        Note("context", "t", " ")


def test_studies_left_out_are_named_with_their_reason() -> None:
    data = latest("PR")
    assert "left_out" not in kinds(report_notes(data))
    gone = dataclasses.replace(data, left_out=(
        ("study 1.2.3", "date unknown: the DICOM has no StudyDate"),))
    (note,) = [n for n in report_notes(gone) if n.kind == "left_out"]
    assert note.caution and "1.2.3: date unknown" in note.text
    for bad in [(("1.2.3",),), (("", "why"),), ("1.2.3",)]:
        with pytest.raises(InvalidReportData, match="left_out"):
            dataclasses.replace(data, left_out=bad)  # type: ignore[arg-type]
