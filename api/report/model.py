"""What the specialist report shows: frozen, self-validating view types.

The lead's data assembly fills these from the case, the engine's result
(:mod:`measurement.recist`) and the rendered key images (:mod:`imaging.render`); the
presentation (:mod:`api.report.render`, :mod:`api.report.charts`, :mod:`api.report.notes`)
reads nothing else. Every type validates itself in ``__post_init__`` and names the field it
refuses, so a report that exists can always be rendered.

Sizes are float mm as displayed: the decisions were taken exactly by the engine, and the
chart's thresholds are recomputed exactly (:mod:`api.report.charts`).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from api.report.errors import InvalidReportData
from api.report.vocabulary import CRITERIA_NAMES, KIND_NAMES, RESPONSE_MEANINGS, STATUS_MEANINGS
from imaging.render import Picture

LESION_KINDS = frozenset(KIND_NAMES)
CELL_STATUSES = frozenset(STATUS_MEANINGS)
RESPONSE_CODES = frozenset(RESPONSE_MEANINGS)
CRITERIA = frozenset(CRITERIA_NAMES)
PAIR_SOURCES = frozenset({"auto", "manual"})
#: Where a second reading's final response comes from (api.workflow.readings).
FINAL_SOURCES = frozenset({"agreed", "adjudicated", "adjudication_pending", "primary"})
# DICOM Patient's Sex (PS3.3 C.7.1.1): M, F, O, or empty when unknown.
SEX_CODES = frozenset({"M", "F", "O", ""})


class _Check:
    """Field checks that name ``Owner.field`` and the refused value."""

    def __init__(self, owner: object) -> None:
        self.owner = type(owner).__name__
        self.obj = owner

    def fail(self, name: str, message: str) -> InvalidReportData:
        return InvalidReportData(self.owner, name, message)

    def value(self, name: str) -> Any:
        return getattr(self.obj, name)

    def text(self, *names: str, empty: bool = False) -> None:
        for name in names:
            value = self.value(name)
            if not isinstance(value, str) or (not empty and not value.strip()):
                raise self.fail(name, f"must be a non-empty string, got {value!r}")

    def optional_text(self, *names: str) -> None:
        for name in names:
            if self.value(name) is not None:
                self.text(name)

    def number(self, *names: str, minimum: float | None = None,
               optional: bool = True) -> None:
        """Finite numbers, at least ``minimum`` when given; ``None`` only when ``optional``."""
        wanted = "a finite number or None" if optional else "a finite number"
        for name in names:
            value = self.value(name)
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise self.fail(name, f"must be {wanted}, got {value!r}")
            if minimum is not None and value < minimum:
                raise self.fail(name, f"must be >= {minimum}, got {value!r}")

    def date(self, *names: str, optional: bool = False) -> None:
        for name in names:
            value = self.value(name)
            if value is None and optional:
                continue
            if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
                raise self.fail(name, f"must be a datetime.date, got {value!r}")

    def moment(self, name: str, *, optional: bool = False) -> None:
        value = self.value(name)
        if not (value is None and optional) and not isinstance(value, datetime.datetime):
            raise self.fail(name, f"must be a datetime.datetime, got {value!r}")

    def flag(self, *names: str) -> None:
        for name in names:
            value = self.value(name)
            if value is not None and not isinstance(value, bool):
                raise self.fail(name, f"must be True, False or None, got {value!r}")

    def choice(self, name: str, allowed: Collection[str], *, optional: bool = False) -> None:
        value = self.value(name)
        if value is None and optional:
            return
        if value not in allowed:
            raise self.fail(name, f"must be one of {sorted(allowed)}, got {value!r}")

    def items(self, name: str, kind: type) -> None:
        value = self.value(name)
        if not isinstance(value, tuple) or not all(isinstance(v, kind) for v in value):
            raise self.fail(name, f"must be a tuple of {kind.__name__}, got {value!r:.80}")

    def picture(self, name: str) -> None:
        value = self.value(name)
        if value is not None and not isinstance(value, Picture):
            raise self.fail(name, f"must be a Picture or None, got {type(value).__name__}")


@dataclass(frozen=True)
class KeyImageView:
    """One key image of a lesion at one timepoint: a crop around the caliper and a thumbnail.

    When the image could not be decoded or rendered, ``error`` says why (naming the image)
    and both pictures are None: the report shows the message instead of failing. Each
    format encodes the pictures as it needs them (PNG for JSON and HTML, JPEG for the PDF).
    """

    timepoint_id: str
    timepoint_date: datetime.date
    sop_instance_uid: str
    crop: Picture | None
    thumbnail: Picture | None
    length_mm: float | None
    window_name: str
    scale_bar_mm: float | None
    error: str | None

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("timepoint_id")
        check.text("window_name", empty=True)  # empty when the image could not be rendered
        check.text("sop_instance_uid")
        check.optional_text("error")
        check.date("timepoint_date")
        check.picture("crop")
        check.picture("thumbnail")
        check.number("length_mm", minimum=0.0)
        check.number("scale_bar_mm")
        if self.scale_bar_mm is not None and self.scale_bar_mm <= 0:
            raise check.fail("scale_bar_mm", f"must be > 0, got {self.scale_bar_mm!r}")
        if self.error is not None and (self.crop is not None or self.thumbnail is not None):
            raise check.fail("error", "is set, so crop and thumbnail must be None")
        if self.error is None and self.crop is None:
            raise check.fail("crop", "must be given when there is no error")


@dataclass(frozen=True)
class LesionCell:
    """A lesion at one timepoint: its size (mm), a status (RECIST 1.1 4.3.2-4.3.3), or both.

    ``status`` is one of too_small, not_evaluable, disappeared (target lesions), present,
    absent, unequivocal_progression, unequivocal_further_increase (iRECIST), not_evaluated
    (non-target lesions), or None for a plain measurement.
    """

    timepoint_id: str
    value_mm: float | None
    status: str | None
    #: A lesion that split here (RECIST 1.1 s4.3.2): its fragments' longest diameters,
    #: whose sum is ``value_mm``.
    fragments_mm: tuple[float, ...] = ()
    #: The label of the lesion this one coalesced into here (it counts 0 mm).
    coalesced_into: str | None = None
    #: Both diameters of a bidirectional measurement (None when that axis was not drawn);
    #: ``value_mm`` is the one that counts (RECIST 1.1 s.4.2).
    long_axis_mm: float | None = None
    short_axis_mm: float | None = None

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("timepoint_id")
        check.number("value_mm", "long_axis_mm", "short_axis_mm", minimum=0.0)
        check.choice("status", CELL_STATUSES, optional=True)
        check.optional_text("coalesced_into")
        if not isinstance(self.fragments_mm, tuple) or len(self.fragments_mm) == 1 or not all(
                isinstance(size, float | int) and size > 0 for size in self.fragments_mm):
            raise check.fail("fragments_mm", f"must be a tuple of two or more sizes > 0 mm, "
                                             f"got {self.fragments_mm!r}")
        if self.fragments_mm and self.coalesced_into is not None:
            raise check.fail("coalesced_into", "a lesion is split or coalesced, not both")


@dataclass(frozen=True)
class LesionRow:
    """A lesion with its readings at each timepoint and its key images."""

    label: str
    kind: str
    organ: str
    nodal: bool
    cells: tuple[LesionCell, ...]
    change_from_baseline_pct: float | None
    images: tuple[KeyImageView, ...]

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("label")
        check.text("organ", empty=True)
        check.choice("kind", LESION_KINDS)
        if not isinstance(self.nodal, bool):
            raise check.fail("nodal", f"must be True or False, got {self.nodal!r}")
        check.items("cells", LesionCell)
        check.items("images", KeyImageView)
        check.number("change_from_baseline_pct")
        ids = [cell.timepoint_id for cell in self.cells]
        if len(set(ids)) != len(ids):
            raise check.fail("cells", f"has more than one cell for a timepoint: {ids}")

    def cell(self, timepoint_id: str) -> LesionCell | None:
        """The reading at a timepoint, None when the lesion has none there."""
        return next((c for c in self.cells if c.timepoint_id == timepoint_id), None)


@dataclass(frozen=True)
class TimepointRow:
    """The engine's verdict at one timepoint, with its sign-off.

    The baseline row has only its date and sum (and sign-off); follow-up rows carry the
    changes and the responses. Response codes are those of :class:`measurement.result.Response`.
    """

    id: str
    date: datetime.date
    description: str
    sum_mm: float | None
    nadir_mm: float | None
    change_from_baseline_pct: float | None
    change_from_nadir_pct: float | None
    change_from_nadir_mm: float | None
    target_response: str | None
    non_target_response: str | None
    new_lesions: bool | None
    overall_response: str | None
    mixed_response: bool | None
    signed_off_by: str | None
    signed_off_at: datetime.datetime | None
    #: Labels of the lesions without a reading here yet: the row then has no figures.
    missing: tuple[str, ...] = ()
    #: The engine's ids of the tumour markers that alone keep this response from being
    #: complete (measurement.result.TimepointResult.markers_holding_back_cr).
    markers_holding_back_cr: tuple[str, ...] = ()
    #: RECIST 1.1 s4.3.2: labels of the targets recorded as fragments here, and (label,
    #: label merged into) of those that coalesced here.
    split: tuple[str, ...] = ()
    coalesced: tuple[tuple[str, str], ...] = ()
    #: A case read twice (issue 21): the overall response that counts here and where it
    #: comes from (one of FINAL_SOURCES); both None for a case read once.
    final_response: str | None = None
    final_source: str | None = None

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("id")
        check.choice("final_response", RESPONSE_CODES, optional=True)
        check.choice("final_source", FINAL_SOURCES, optional=True)
        if self.final_source is None and self.final_response is not None:
            raise check.fail("final_response", "is set, so final_source must say where it "
                                               "comes from")
        check.text("description", empty=True)
        if not isinstance(self.missing, tuple) or not all(
                isinstance(label, str) and label for label in self.missing):
            raise check.fail("missing", f"must be a tuple of lesion labels, got "
                                        f"{self.missing!r}")
        if self.missing and (self.sum_mm is not None or self.follow_up_fields):
            raise check.fail("missing", "is set, so the row must carry no sum or response")
        check.date("date")
        check.number("sum_mm", "nadir_mm", minimum=0.0)
        check.number("change_from_baseline_pct", "change_from_nadir_pct",
                     "change_from_nadir_mm")
        for name in ("target_response", "non_target_response", "overall_response"):
            check.choice(name, RESPONSE_CODES, optional=True)
        check.flag("new_lesions", "mixed_response")
        if not isinstance(self.markers_holding_back_cr, tuple) or not all(
                isinstance(name, str) and name for name in self.markers_holding_back_cr):
            raise check.fail("markers_holding_back_cr", f"must be a tuple of marker names, "
                                                        f"got {self.markers_holding_back_cr!r}")
        check.optional_text("signed_off_by")
        check.moment("signed_off_at", optional=True)

    @property
    def complete(self) -> bool:
        """Every lesion that exists at this timepoint has a reading there."""
        return not self.missing

    @property
    def follow_up_fields(self) -> tuple[str, ...]:
        """Names of the follow-up-only fields that are set (empty for a baseline row)."""
        names = ("nadir_mm", "change_from_baseline_pct", "change_from_nadir_pct",
                 "change_from_nadir_mm", "target_response", "non_target_response",
                 "new_lesions", "overall_response", "mixed_response")
        return tuple(name for name in names if getattr(self, name) is not None)


@dataclass(frozen=True)
class SeriesPairView:
    """A baseline series and the follow-up series it was compared with (the pairing)."""

    baseline_description: str
    followup_description: str
    score: float | None
    source: str

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("baseline_description", "followup_description", empty=True)
        check.number("score", minimum=0.0)
        if self.score is not None and self.score > 1.0:
            raise check.fail("score", f"must be within [0, 1], got {self.score!r}")
        check.choice("source", PAIR_SOURCES)


@dataclass(frozen=True)
class MarkerPoint:
    """One level of a tumour marker: the day the blood was taken and the level, in the
    series' unit. ``timepoint_id`` names the scan the test belongs to, or None when it
    belongs to none (the chart then places it by its own date)."""

    date: datetime.date
    value: float
    timepoint_id: str | None = None

    def __post_init__(self) -> None:
        check = _Check(self)
        check.date("date")
        check.number("value", minimum=0.0, optional=False)
        check.optional_text("timepoint_id")


@dataclass(frozen=True)
class MarkerSeries:
    """A serum tumour marker followed beside the lesions (RECIST 1.1 sections 3.2.2, 4.3.3).

    ``upper_limit_normal`` is the laboratory's upper limit of normal, in ``unit`` (empty
    when the unit is not recorded). ``points`` are in date order, at most one per timepoint;
    a series may be empty (the chart then says that no value was recorded).
    """

    name: str
    unit: str
    upper_limit_normal: float
    points: tuple[MarkerPoint, ...]

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("name")
        check.text("unit", empty=True)
        check.number("upper_limit_normal", optional=False)
        if self.upper_limit_normal <= 0:
            raise check.fail("upper_limit_normal", f"must be > 0, got {self.upper_limit_normal!r}")
        check.items("points", MarkerPoint)
        dates = [point.date for point in self.points]
        if dates != sorted(dates):
            raise check.fail("points", "must be in date order, got "
                                       f"{[d.isoformat() for d in dates]}")
        ids = [point.timepoint_id for point in self.points if point.timepoint_id is not None]
        if len(set(ids)) != len(ids):
            raise check.fail("points", f"has more than one value for a timepoint: {ids}")

    def at(self, timepoint_id: str) -> MarkerPoint | None:
        """The level tested for a timepoint, None when there is none."""
        return next((p for p in self.points if p.timepoint_id == timepoint_id), None)

    def above_normal(self, point: MarkerPoint) -> bool:
        """Above the upper limit of normal; at the limit is within normal (as the engine)."""
        return point.value > self.upper_limit_normal


@dataclass(frozen=True)
class SecondReadingRow:
    """One timepoint read twice (issue 21): both overall responses, whether they agree, and
    the response that counts (the adjudicator's choice and reason where they differ)."""

    timepoint_id: str
    review_case_id: int
    primary_reader: str
    reader: str
    primary_response: str | None
    review_response: str | None
    agree: bool | None
    final_response: str | None
    final_source: str
    chosen_case_id: int | None = None
    adjudicated_by: str | None = None
    adjudication_reason: str | None = None

    def __post_init__(self) -> None:
        check = _Check(self)
        check.text("timepoint_id", "reader", "primary_reader")
        for name in ("primary_response", "review_response", "final_response"):
            check.choice(name, RESPONSE_CODES, optional=True)
        check.choice("final_source", FINAL_SOURCES)
        if (self.final_source == "adjudicated") != (self.adjudicated_by is not None):
            raise check.fail("adjudicated_by", "an adjudicated row names its adjudicator, "
                             "and only such a row")


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows for one case; ``timepoints[0]`` is the baseline.

    ``warnings`` are (code, message) pairs, e.g. the engine's baseline-selection warnings
    (:class:`measurement.result.WarningCode`). ``generated_at`` is passed in: the
    presentation never reads the clock. ``markers`` are the tumour markers followed beside
    the lesions (empty: the report shows none), each named once.
    """

    patient_id: str
    patient_name: str
    birth_date: datetime.date | None
    sex: str | None
    case_id: str
    criteria: str
    generated_at: datetime.datetime
    software_version: str
    timepoints: tuple[TimepointRow, ...]
    best_overall_response: str | None
    warnings: tuple[tuple[str, str], ...]
    pairs: tuple[SeriesPairView, ...]
    lesions: tuple[LesionRow, ...]
    markers: tuple[MarkerSeries, ...] = ()
    #: The patient's studies that are not timepoints: (which study, why) pairs.
    left_out: tuple[tuple[str, str], ...] = ()
    #: A case read twice: per review and compared timepoint, both readings (else empty).
    second_reading: tuple[SecondReadingRow, ...] = ()
    #: A case read twice: the best overall response over the responses that count.
    final_best_overall_response: str | None = None

    def __post_init__(self) -> None:
        check = _Check(self)
        check.items("second_reading", SecondReadingRow)
        check.choice("final_best_overall_response", RESPONSE_CODES, optional=True)
        check.text("patient_id", "case_id", "software_version")
        check.text("patient_name", empty=True)
        check.date("birth_date", optional=True)
        check.choice("sex", SEX_CODES, optional=True)
        check.choice("criteria", CRITERIA)
        check.moment("generated_at")
        check.choice("best_overall_response", RESPONSE_CODES, optional=True)
        check.items("timepoints", TimepointRow)
        check.items("pairs", SeriesPairView)
        check.items("lesions", LesionRow)
        check.items("markers", MarkerSeries)
        self._check_warnings(check)
        self._check_timepoints(check)
        self._check_lesions(check)
        self._check_markers(check)

    @property
    def preliminary(self) -> bool:
        """A timepoint is not signed off yet: the report may still change."""
        return any(tp.signed_off_by is None for tp in self.timepoints)

    @property
    def baseline(self) -> TimepointRow:
        return self.timepoints[0]

    @property
    def follow_ups(self) -> tuple[TimepointRow, ...]:
        return self.timepoints[1:]

    def timepoint_label(self, timepoint_id: str) -> str:
        """How the report names a timepoint: "Baseline", "Follow-up 1", ... (ids are UIDs)."""
        index = next(i for i, tp in enumerate(self.timepoints) if tp.id == timepoint_id)
        return "Baseline" if index == 0 else f"Follow-up {index}"

    @property
    def targets(self) -> tuple[LesionRow, ...]:
        return tuple(les for les in self.lesions if les.kind == "target")

    def _check_warnings(self, check: _Check) -> None:
        for name, pair in (("warnings", "(code, message)"), ("left_out", "(study, reason)")):
            items = getattr(self, name)
            for item in items if isinstance(items, tuple) else (None,):
                if not (isinstance(item, tuple) and len(item) == 2
                        and all(isinstance(part, str) and part.strip() for part in item)):
                    raise check.fail(name, f"must be a tuple of {pair} string pairs, "
                                           f"got {item!r}")

    def _check_timepoints(self, check: _Check) -> None:
        if not self.timepoints:
            raise check.fail("timepoints", "must hold at least the baseline")
        ids = [tp.id for tp in self.timepoints]
        if len(set(ids)) != len(ids):
            raise check.fail("timepoints", f"has duplicate ids: {ids}")
        dates = [tp.date for tp in self.timepoints]
        if dates != sorted(dates):
            raise check.fail("timepoints", "must be in date order, baseline first, got "
                                           f"{[d.isoformat() for d in dates]}")
        if self.baseline.follow_up_fields:
            raise check.fail("timepoints", f"[0] is the baseline and must not carry "
                                           f"{', '.join(self.baseline.follow_up_fields)}")
        read_twice = {tp.final_source is not None for tp in self.timepoints}
        if len(read_twice) > 1:
            raise check.fail("timepoints", "a case read twice has a final_source at every "
                                           "timepoint, a case read once at none")
        if self.final_best_overall_response is not None and not self.read_twice:
            raise check.fail("final_best_overall_response", "is set, so the timepoints must "
                                                            "carry their final responses")

    @property
    def read_twice(self) -> bool:
        """A review is signed off at every timepoint: each row has the response that counts."""
        return self.timepoints[0].final_source is not None

    def _check_lesions(self, check: _Check) -> None:
        labels = [les.label for les in self.lesions]
        if len(set(labels)) != len(labels):
            raise check.fail("lesions", f"has duplicate labels: {labels}")
        known = {tp.id for tp in self.timepoints}
        for les in self.lesions:
            used = {c.timepoint_id for c in les.cells} | {i.timepoint_id for i in les.images}
            unknown = sorted(used - known)
            if unknown:
                raise check.fail("lesions", f"lesion {les.label!r} refers to unknown "
                                            f"timepoints {unknown}")

    def _check_markers(self, check: _Check) -> None:
        names = [marker.name for marker in self.markers]
        if len(set(names)) != len(names):
            raise check.fail("markers", f"has duplicate names: {names}")
        known = {tp.id for tp in self.timepoints}
        for marker in self.markers:
            unknown = sorted({p.timepoint_id for p in marker.points
                              if p.timepoint_id is not None} - known)
            if unknown:
                raise check.fail("markers", f"marker {marker.name!r} refers to unknown "
                                            f"timepoints {unknown}")
