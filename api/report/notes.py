"""Plain-language notes of what the report's numbers mean, and what they do not mean.

Written for a patient's family as well as for a clinician: short sentences, the RECIST words
explained, no advice on treatment. Pure: the notes follow from :class:`ReportData` alone, in
a fixed order, and always end with :data:`DISCLAIMER`.

Sources of the rules explained: RECIST 1.1 (Eisenhauer et al., Eur J Cancer
2009;45:228-247) sections 3.1, 3.2.2 (tumour markers), 4.2-4.4; iRECIST (Seymour et al.,
Lancet Oncol 2017;18:e143-52) for unconfirmed progression after immunotherapy and its
confirmation.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from types import MappingProxyType

from api.report.charts import marker_level
from api.report.errors import InvalidReportData
from api.report.model import LesionRow, MarkerPoint, MarkerSeries, ReportData, TimepointRow
from api.report.vocabulary import CRITERIA_NAMES, response_label
from measurement.figures import signed_tenths, tenths
from measurement.result import Response, WarningCode

DISCLAIMER = ("This is a computed reading to support, not replace, the interpretation of a "
              "qualified oncologist.")

NOTE_KINDS = frozenset({
    "response", "stable_disease", "best_response", "mixed_response", "new_lesion",
    "incomplete", "not_measured", "image", "protocol", "tumour_markers", "context",
    "disclaimer", "left_out", "split_or_merged",
})
# Notes that say what could change the reading: the report sets them apart.
CAUTION_KINDS = frozenset({"mixed_response", "new_lesion", "incomplete", "not_measured",
                           "image", "protocol", "left_out"})
_UNASSESSED = frozenset({"not_evaluable", "not_evaluated"})

_MEANINGS = MappingProxyType({
    Response.CR: (
        "None of the tumours measured at the start can be seen on this scan any more, and "
        "lymph nodes that were measured are back to a normal size (under 10 mm across). This "
        "describes what the scan can show: disease too small to see may remain, so regular "
        "check-ups continue."),
    Response.PR: (
        "Taken together, the tumours measured at the start are at least 30 % smaller than they "
        "were then, and nothing has grown or appeared that would count as progression. The "
        "measurable disease has shrunk; it has not gone.{change}"),
    Response.SD: (
        "The measured tumours have not shrunk enough to count as a response (30 % smaller "
        "than at the start) and have not grown enough to count as progression (20 % and at "
        "least 5 mm more than at their smallest).{change}"),
    Response.PD: (
        "By the RECIST 1.1 rules the disease has progressed: {reasons}. Whether and how "
        "treatment should change is for the oncologist to decide, usually after looking at the "
        "images themselves and at how the patient is doing."),
    Response.NE: (
        "This scan could not be assessed completely (for example, a measured tumour was not "
        "imaged or could not be measured), so no response category can be given for it. That "
        "is neither good nor bad news in itself; a repeated or completed reading can settle "
        "it."),
    Response.NON_CR_NON_PD: (
        "There are no measured (target) tumours to add up. The disease that is followed by "
        "eye is still visible but has not clearly grown, and no new lesion was found."),
    Response.IUPD: (
        "This scan shows growth or a new lesion that would count as progression under the "
        "standard rules ({reasons}). Immunotherapy can cause temporary growth: immune cells "
        "moving into a tumour can make it look bigger, or make new spots visible, for a while "
        "before it shrinks. A later scan, usually 4 to 8 weeks after this one, is needed to "
        "confirm or rule out progression. Whether treatment continues until then is the "
        "oncologist's decision."),
    Response.ICPD: (
        "A scan after an earlier unconfirmed progression (iUPD) showed further growth or new "
        "disease, so under iRECIST the progression is now confirmed{reasons_suffix}."),
})
# Every lesion gone, but a marker high at baseline is still high (RECIST 1.1 s.3.2.2, 4.3.3).
_MARKER_HELD = (
    "None of the tumours followed since the start can be seen on this scan any more. The "
    "response is still not called complete, because a tumour marker in the blood that was "
    "above its normal limit at the start has not come back to normal (see 'Tumour markers' "
    "below). Disease too small to see may remain, so regular check-ups continue.")
# Under iRECIST, iCR, iPR and iSD mean what CR, PR and SD mean under RECIST 1.1.
_SAME_AS = MappingProxyType({Response.ICR: Response.CR, Response.IPR: Response.PR,
                             Response.ISD: Response.SD})

# What a baseline-selection warning leaves for a person to check.
_REVIEW_BASELINE = "a radiologist may want to review which lesions were chosen at baseline"
# Every measurement.result.WarningCode: (title, why it matters, what to review); a unit test
# checks that none falls back to the generic wording.
_PROTOCOL = MappingProxyType({
    WarningCode.TOO_MANY_TARGETS.value: (
        "More target lesions than RECIST 1.1 allows",
        "RECIST 1.1 follows at most five target lesions in all (section 4.2), so that a few "
        "large, reliably measured tumours drive the result.", _REVIEW_BASELINE),
    WarningCode.TOO_MANY_TARGETS_IN_ORGAN.value: (
        "More than two target lesions in one organ",
        "RECIST 1.1 takes at most two target lesions per organ (section 4.2), so that one "
        "organ does not dominate the total.", _REVIEW_BASELINE),
    WarningCode.TARGET_BELOW_MEASURABLE_SIZE.value: (
        "A target lesion below measurable size",
        "A tumour must be at least 10 mm across on CT (a lymph node at least 15 mm across its "
        "short axis) to be measured reliably as a target (RECIST 1.1 section 3.1); changes in "
        "smaller ones are less certain.", _REVIEW_BASELINE),
    # RECIST 1.1 section 3.1.1: a node under 10 mm short axis is normal, not pathological;
    # EORTC RECIST FAQ "New lymph node lesions": such a new node is no new lesion.
    WarningCode.NEW_NODE_NOT_PATHOLOGICAL.value: (
        "A new lymph node too small to count",
        "A lymph node that was not seen before but measures under 10 mm across its short "
        "axis is of normal size. Healthy lymph nodes come and go in size, for example with an "
        "infection, so it is not counted as a new lesion and does not mean progression "
        "(RECIST 1.1 section 3.1.1).",
        "a radiologist may want to look at this node again on the next scan"),
    # iRECIST (Seymour et al. 2017): unconfirmed progression is confirmed on the next scan,
    # 4 to 8 weeks after it.
    WarningCode.LATE_CONFIRMATION.value: (
        "Progression confirmed later than planned",
        "Under iRECIST, growth that may be caused by the immune treatment (unconfirmed "
        "progression, iUPD) is checked on a scan 4 to 8 weeks later. The scan that confirmed "
        "it here came more than 8 weeks after the first sign of progression, so the disease "
        "had longer than planned to change in between.",
        "the oncologist may take the longer gap into account when reading the result"),
})


@dataclass(frozen=True)
class Note:
    """One plain-language note: its kind (see :data:`NOTE_KINDS`), a title and the text."""

    kind: str
    title: str
    text: str

    def __post_init__(self) -> None:
        if self.kind not in NOTE_KINDS:
            raise InvalidReportData("Note", "kind",
                                    f"must be one of {sorted(NOTE_KINDS)}, got {self.kind!r}")
        for name in ("title", "text"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidReportData("Note", name, f"must be a non-empty string, "
                                                      f"got {value!r}")

    @property
    def caution(self) -> bool:
        """True for notes about what could change the reading."""
        return self.kind in CAUTION_KINDS


def report_notes(data: ReportData) -> tuple[Note, ...]:
    """The notes of a report, most important first, ending with the disclaimer."""
    notes = [_latest_response(data)]
    latest = data.timepoints[-1].overall_response
    if latest in (Response.SD, Response.ISD):
        notes.append(_stable_disease())
    notes += _best_response(data)
    notes += _mixed_response(data)
    notes += _new_lesions(data)
    notes += _split_or_merged(data)
    notes += _incomplete(data)
    notes += _image_errors(data)
    notes += _left_out(data)
    notes += [_protocol(code, message) for code, message in data.warnings]
    notes += _tumour_markers(data)
    notes.append(_context())
    notes.append(Note("disclaimer", "About this reading", DISCLAIMER))
    return tuple(notes)


def _latest_response(data: ReportData) -> Note:
    if not data.follow_ups:
        return Note("response", "Baseline only",
                    "Only the starting (baseline) scan has been read so far. Response is "
                    "judged from the first follow-up scan on, by comparing it with this one.")
    row = data.timepoints[-1]
    if row.overall_response is None:
        return Note("response", f"Latest scan ({_day(row.date)}): no response yet",
                    "No response category has been computed for the latest scan yet, usually "
                    "because its measurements are not complete.")
    held = markers_blocking_complete_response(data, row)
    return Note("response", f"Latest scan ({_day(row.date)}): "
                            f"{response_label(row.overall_response)}",
                _MARKER_HELD if held else _meaning(row, Response(row.overall_response)))


def _meaning(row: TimepointRow, code: Response) -> str:
    template = _MEANINGS[_SAME_AS.get(code, code)]
    change = _change_sentence(row.change_from_baseline_pct)
    reasons = _progression_reasons(row)
    return template.format(change=change, reasons=reasons,
                           reasons_suffix=f" ({reasons})" if reasons else "")


def _change_sentence(pct: float | None) -> str:
    if pct is None:
        return ""
    if pct == 0:
        return " At this scan the total is the same as at the start."
    direction = "smaller" if pct < 0 else "larger"
    return f" At this scan the total is {tenths(abs(pct))} % {direction} than at the start."


def _progression_reasons(row: TimepointRow) -> str:
    reasons = []
    if row.target_response == Response.PD:
        growth = ""
        if row.change_from_nadir_pct is not None and row.change_from_nadir_mm is not None:
            growth = (f" ({_pct(row.change_from_nadir_pct)}, "
                      f"{_signed(row.change_from_nadir_mm)} mm)")
        reasons.append("the measured tumours together grew by at least 20 % and at least "
                       f"5 mm over their smallest total so far{growth}")
    if row.non_target_response == Response.PD:
        reasons.append("disease followed without measuring has clearly worsened")
    if row.new_lesions:
        reasons.append("a new lesion was found")
    return "; ".join(reasons) or "see the table of timepoints"


def _stable_disease() -> Note:
    return Note("stable_disease", "Why stable disease can matter",
                "When a cancer cannot be removed or cured, treatment often aims to keep it "
                "under control for as long as possible. Tumours that hold their size, above "
                "all when they were growing before treatment, may show that this is working. "
                "How much it means depends on the kind of cancer, what the treatment is meant "
                "to achieve, how long the disease stays stable and how the patient is; the "
                "oncologist puts these together.")


def _best_response(data: ReportData) -> list[Note]:
    if not data.follow_ups or data.best_overall_response is None:
        return []
    return [Note("best_response",
                 f"Best overall response: {response_label(data.best_overall_response)}",
                 "The best response recorded at any scan since treatment began, after the "
                 f"confirmation rules of {CRITERIA_NAMES[data.criteria]} (RECIST 1.1 section "
                 "4.4). It can "
                 "differ from the latest reading.")]


def _mixed_response(data: ReportData) -> list[Note]:
    dates = [row.date for row in data.follow_ups if row.mixed_response]
    if not dates:
        return []
    return [Note("mixed_response", "Mixed response: flagged for specialist review",
                 f"On the scan of {_days(dates)}, some tumours shrank while at least one other "
                 "grew or a new one appeared. A single overall category adds all tumours up "
                 "and can hide such a split. Tumours in different places can behave "
                 "differently, for example because their biology differs, so a specialist "
                 "should look at these lesions one by one.")]


def _new_lesions(data: ReportData) -> list[Note]:
    dates = [row.date for row in data.follow_ups if row.new_lesions]
    labels = [les.label for les in data.lesions if les.kind == "new"]
    if not dates and not labels:
        return []
    where = f"on the scan of {_days(dates)}" if dates else "during follow-up"
    named = f" ({', '.join(labels)})" if labels else ""
    rule = ("Under iRECIST it first counts as unconfirmed progression (iUPD), which a later "
            "scan has to confirm. " if data.criteria == "iRECIST" else
            "Under RECIST 1.1, a new lesion that is clearly cancer means progression, however "
            "the other tumours have changed. ")
    return [Note("new_lesion", "New lesion",
                 f"A new lesion was recorded {where}{named}. {rule}Not every new spot is "
                 "cancer: inflammation, infection or scarring can look alike, and a doubtful "
                 "finding is usually checked on the next scan before it counts.")]


def _split_or_merged(data: ReportData) -> list[Note]:
    """RECIST 1.1 section 4.3.2, lesions that split or coalesce on treatment."""
    events = [f"{_day(row.date)}: " + "; ".join(
        [f"{label} split into pieces" for label in row.split]
        + [f"{label} merged into {into}" for label, into in row.coalesced])
        for row in data.timepoints if row.split or row.coalesced]
    if not events:
        return []
    return [Note("split_or_merged", "Lesions that split or merged",
                 f"Some tumours changed shape between scans ({' | '.join(events)}). A tumour "
                 "that broke into pieces is counted as the sum of the pieces' longest "
                 "diameters; tumours that grew into one another are measured as one, and the "
                 "one absorbed counts 0 mm without having disappeared (RECIST 1.1 section "
                 "4.3.2).")]


def _incomplete(data: ReportData) -> list[Note]:
    notes = _not_yet_measured(data)
    gaps = []
    for row in data.follow_ups:
        missing = [les.label for les in data.lesions if _unassessed(les, row.id)]
        if missing and row.complete:
            gaps.append(f"{_day(row.date)}: {', '.join(missing)}")
    if not gaps:
        return notes
    return notes + [Note("incomplete", "Incomplete reading",
                 "Not every lesion followed since the start could be assessed "
                 f"({'; '.join(gaps)}). A missing lesion could have shrunk or grown, so the "
                 "result is less certain. If the lesions that were measured already show "
                 "progression, it still counts; otherwise the scan is 'not evaluable' "
                 "(RECIST 1.1 section 4.4.2).")]


def _not_yet_measured(data: ReportData) -> list[Note]:
    waiting = [f"{_day(row.date)}: {', '.join(row.missing)}" for row in data.timepoints
               if not row.complete]
    if not waiting:
        return []
    return [Note("not_measured", "Not yet measured",
                 "The reading of some scans is not finished: some lesions have no "
                 f"measurement there yet ({'; '.join(waiting)}). Those scans get no sum and "
                 "no response until every lesion has been measured or marked as not "
                 "evaluable.")]


def _unassessed(lesion: LesionRow, timepoint_id: str) -> bool:
    if lesion.kind == "new":  # a new lesion exists only from its first sighting on
        return False
    cell = lesion.cell(timepoint_id)
    return cell is None or (cell.status in _UNASSESSED and cell.value_mm is None)


def _image_errors(data: ReportData) -> list[Note]:
    failures = [f"{les.label} on {_day(image.timepoint_date)}: {image.error}"
                for les in data.lesions for image in les.images if image.error is not None]
    if not failures:
        return []
    return [Note("image", "Some key images could not be shown",
                 f"{'; '.join(failures)}. The measurements do not depend on these pictures; "
                 "the original images remain in the hospital's image archive (PACS).")]


def _left_out(data: ReportData) -> list[Note]:
    """Studies of the patient the reading does not include, each with the reason (issue
    20: a study is never left out without saying which and why)."""
    if not data.left_out:
        return []
    listed = "; ".join(f"{study}: {reason}" for study, reason in data.left_out)
    return [Note("left_out", "Scans not included in this reading",
                 f"Some scans of this patient are not part of this reading ({listed}). A "
                 "scan without a date cannot be placed in time; a radiologist can give it "
                 "its date for this case, and it then joins the reading.")]


def _protocol(code: str, message: str) -> Note:
    title, why, review = _PROTOCOL.get(
        code, (f"Protocol warning ({code})", "", "a radiologist may want to review it"))
    return Note("protocol", title,
                f"{why + ' ' if why else ''}Detail: {message.rstrip('.')}. The response was "
                f"computed anyway; {review}.")


def _tumour_markers(data: ReportData) -> list[Note]:
    """What tumour markers can and cannot say, whenever the report shows any.

    RECIST 1.1 section 3.2.2: "Tumour markers alone cannot be used to assess objective
    tumour response"; a marker above the upper limit of normal at baseline must normalise
    for a complete response (section 3.2.2, and section 4.3.3 for the non-target category),
    so that is the one way a marker changes the category: partial instead of complete.
    """
    if not data.markers:
        return []
    names = ", ".join(marker.name for marker in data.markers)
    text = (f"Tumour markers are substances in the blood that some cancers release; this report "
            f"shows {names}. Their level can rise or fall for reasons other than the cancer: "
            "inflammation or infection, how well the liver or kidneys are working, smoking, "
            "harmless (benign) conditions, and differences between laboratories or test kits. "
            "So a marker never decides on its own whether the disease has responded or "
            "progressed: the response in this report comes from the scans. There is one rule "
            "in which a marker counts: if it was above its normal limit at the start, it has "
            "to come back to normal before a response can be called complete "
            "(RECIST 1.1 sections 3.2.2 and 4.3.3).")
    held = [_held_back(data, row, found) for row in data.follow_ups
            if (found := markers_blocking_complete_response(data, row))]
    return [Note("tumour_markers", "Tumour markers: a blood test beside the scans",
                 " ".join([text, *held]))]


def markers_blocking_complete_response(
        data: ReportData, row: TimepointRow) -> list[tuple[MarkerSeries, MarkerPoint]]:
    """The markers the engine says keep ``row``'s response from being complete (every
    lesion gone, a marker above its upper limit at baseline not back within it: RECIST 1.1
    sections 3.2.2, 4.3.3; Table 1), with their level there; a marker the engine names
    that was not measured at ``row`` has no level to show and is left out."""
    found = []
    for marker in data.markers:
        now = marker.at(row.id)
        if marker.name in row.markers_holding_back_cr and now is not None:
            found.append((marker, now))
    return found


def _held_back(data: ReportData, row: TimepointRow,
               found: list[tuple[MarkerSeries, MarkerPoint]]) -> str:
    levels = ", ".join(f"{marker.name} {marker_level(point.value)}{_unit(marker)} (normal "
                       f"up to {marker_level(marker.upper_limit_normal)}{_unit(marker)})"
                       for marker, point in found)
    category = ("partial rather than complete"
                if row.overall_response in (Response.PR, Response.IPR)
                else "not a complete response")
    return (f"On the scan of {_day(row.date)} no tumour can be seen any more, but "
            f"{levels} {'is' if len(found) == 1 else 'are'} still above the normal limit, as "
            f"at the start. This is why the response there is {category}.")


def _unit(marker: MarkerSeries) -> str:
    return f" {marker.unit}" if marker.unit else ""


def _context() -> Note:
    return Note("context", "Scans are one part of the picture",
                "Whether a treatment works is judged from several things together: scans, "
                "how the patient feels and copes day to day, the doctor's examination, blood "
                "tests and, for some cancers, tumour markers. Feeling better or worse does not "
                "always match the scan, and symptoms can change for reasons other than the "
                "cancer. Some cancers and treatments are judged by other criteria than tumour "
                "size.")


def _day(day: datetime.date) -> str:
    return day.isoformat()


def _days(days: list[datetime.date]) -> str:
    return ", ".join(_day(day) for day in days)


def _pct(value: float) -> str:
    return f"{signed_tenths(value)} %"


def _signed(value: float) -> str:
    return signed_tenths(value)
