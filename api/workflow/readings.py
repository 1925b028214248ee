"""Two readings of one case side by side, and the agreement between readers (pure).

Each reading's figures come from the case response (:mod:`api.workflow.case_response`,
the RECIST 1.1 / iRECIST engine): nothing here re-derives a rule, it only puts the two
verdicts next to each other and counts where they agree.

Lesions are matched across readings by location (issue 21): the midpoint of each
caliper (or the point of a status reading) is placed in patient coordinates, and two
readings are one lesion when they lie within :data:`MATCH_DISTANCE_MM` of each other in
the same Frame of Reference (any image of it: the same image, another slice of the same
series, another series sharing the frame; a share's copy counts as its original's
frame), or, in different frames, through a registration of their two series. Pairs are
taken nearest first, each lesion in one pair at most. Readings that cannot be placed
(no image geometry) or whose frames are not registered stay unmatched.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from api.workflow.domain import Adjudication, Lesion, MeasurementVersion
from measurement.best_response import ScoredTimepoint, best_overall_response
from measurement.model import Criteria, EvaluationOptions
from measurement.result import Response, TimepointResult

#: Calipers of two readers are one lesion when their midpoints are this close in patient
#: space (issue 21's rule).
MATCH_DISTANCE_MM = 10.0

Point3 = tuple[float, float, float]


@dataclass(frozen=True)
class Place:
    """Where a reading lies: its image's Frame of Reference (the original's for a share's
    copy; ``series:<uid>`` when the series names none, PS3.3 C.7.4.1: a series lies in one
    frame), its series, and the point in patient coordinates (mm, PS3.3 C.7.6.2.1.1)."""

    frame_of_reference: str
    series_instance_uid: str
    mm: Point3


#: The reading's place; None when its image has no usable geometry.
PlaceOf = Callable[["LocatedReading"], Place | None]
#: ``b``'s point in ``a``'s frame through a registration of their series; None without one.
Through = Callable[[Place, Place], Point3 | None]


def distance_mm(a: Place, b: Place, through: Through) -> float | None:
    """Between two places: directly in one frame, else through a registration (None when
    there is none: points of two unregistered frames cannot be compared)."""
    if a.frame_of_reference == b.frame_of_reference:
        return math.dist(a.mm, b.mm)
    moved = through(a, b)
    return None if moved is None else math.dist(a.mm, moved)


@dataclass(frozen=True)
class Reading:
    """One reader's figures at one timepoint (the engine's row, None where incomplete)."""

    case_id: int
    reader: str
    signed_off: bool
    sum_mm: Decimal | None
    nadir_mm: Decimal | None
    change_from_baseline_pct: Decimal | None
    change_from_nadir_pct: Decimal | None
    overall_response: Response | None

    @classmethod
    def of(cls, case_id: int, reader: str, signed_off: bool,
           row: TimepointResult | None) -> Reading:
        if row is None:
            return cls(case_id, reader, signed_off, None, None, None, None, None)
        return cls(case_id, reader, signed_off, row.sum_mm, row.nadir_mm,
                   row.change_from_baseline_pct, row.change_from_nadir_pct,
                   row.overall_response)


@dataclass(frozen=True)
class TimepointComparison:
    """Both readings of one timepoint (the primary's timepoint id), and the final word."""

    timepoint_uid: str
    primary: Reading
    review: Reading
    adjudication: Adjudication | None

    @property
    def compared(self) -> bool:
        """Both readers gave an overall response (a baseline has none)."""
        return (self.primary.overall_response is not None
                and self.review.overall_response is not None)

    @property
    def agree(self) -> bool | None:
        if not self.compared:
            return None
        return self.primary.overall_response == self.review.overall_response


@dataclass(frozen=True)
class FinalResponse:
    """The response that counts at one timepoint of a case read twice."""

    timepoint_uid: str
    response: Response | None
    #: "agreed" (every compared reading gives it), "adjudicated" (an adjudicator chose the
    #: reading), "adjudication_pending" (readings differ: the primary's counts until then),
    #: or "primary" (nothing to compare there, e.g. the baseline).
    source: str
    adjudication: Adjudication | None


def final_responses(order: Sequence[str], rows: Sequence[TimepointComparison],
                    adjudications: Mapping[str, Adjudication],
                    primary_responses: Mapping[str, Response | None] | None = None
                    ) -> list[FinalResponse]:
    """Per timepoint of ``order`` (the primary's), the response that counts: the readers'
    common one, else the adjudicated reading's, else the primary's until adjudication; and
    the primary's (``primary_responses``: its overall response by timepoint) where no review reads
    that timepoint."""
    out = []
    for tp in order:
        here = [r for r in rows if r.timepoint_uid == tp]
        if not here:
            out.append(FinalResponse(tp, (primary_responses or {}).get(tp), "primary", None))
            continue
        primary = here[0].primary
        decision = adjudications.get(tp)
        readings = {primary.case_id: primary, **{r.review.case_id: r.review for r in here}}
        if decision is not None and any(r.agree is False for r in here) \
                and decision.chosen_case_id in readings:
            chosen = readings[decision.chosen_case_id]
            out.append(FinalResponse(tp, chosen.overall_response, "adjudicated", decision))
        elif any(r.agree is False for r in here):
            out.append(FinalResponse(tp, primary.overall_response, "adjudication_pending",
                                     None))
        elif any(r.compared for r in here):
            out.append(FinalResponse(tp, primary.overall_response, "agreed", None))
        else:
            out.append(FinalResponse(tp, primary.overall_response, "primary", None))
    return out


@dataclass(frozen=True)
class FinalReading:
    """A case read twice: the response that counts at each of its timepoints (baseline
    first), and the best overall response over them."""

    timepoints: tuple[FinalResponse, ...]
    best_overall_response: Response | None

    def at(self, timepoint_uid: str) -> FinalResponse | None:
        return next((f for f in self.timepoints if f.timepoint_uid == timepoint_uid), None)


def final_best_overall_response(criteria: Criteria, options: EvaluationOptions,
                                dates: Mapping[str, datetime.date],
                                final: Sequence[FinalResponse], *, target_disease: bool
                                ) -> Response | None:
    """The best overall response over the responses that count (``final``, baseline first).

    The engine's own rule (:func:`measurement.best_response.best_overall_response`: RECIST
    1.1 s4.4.3 and Table 3, with confirmation per s4.6 when the case asks for it; iRECIST
    iBOR) applied to the sequence of final time-point responses, as the engine applies it to
    one reading's. As for one reading (:mod:`api.workflow.case_response`), it is judged on
    the follow-ups before the first without a response, and None when no follow-up has one:
    the baseline alone is no assessment (RECIST 1.1 s4.4).
    """
    if len(final) < 2:
        return None
    scored = []
    for f in final[1:]:
        if f.response is None:
            break
        scored.append(ScoredTimepoint(f.timepoint_uid, dates[f.timepoint_uid], f.response))
    if not scored:
        return None
    best, _ = best_overall_response(criteria, dates[final[0].timepoint_uid], scored, options,
                                    target_disease=target_disease)
    return best


@dataclass(frozen=True)
class LocatedReading:
    """A lesion's current reading at a timepoint with where it lies on which image."""

    lesion: Lesion
    measurement: MeasurementVersion
    sop_instance_uid: str
    frame: int | None
    at: tuple[float, float]  # [row, column], the caliper's midpoint or the status point


@dataclass(frozen=True)
class LesionMatch:
    timepoint_uid: str
    primary: LocatedReading
    review: LocatedReading
    distance_mm: float

    @property
    def difference_mm(self) -> float | None:
        """Review's length minus the primary's (None when either has no length)."""
        a, b = self.primary.measurement.length_mm, self.review.measurement.length_mm
        return None if a is None or b is None else round(b - a, 1)


@dataclass(frozen=True)
class LesionComparison:
    matched: tuple[LesionMatch, ...]
    primary_only: tuple[tuple[str, LocatedReading], ...]
    review_only: tuple[tuple[str, LocatedReading], ...]


def located(lesion: Lesion, m: MeasurementVersion) -> LocatedReading | None:
    """The reading's place: the midpoint of its caliper, else its point; None without one."""
    if m.sop_instance_uid is None:
        return None
    if m.endpoints and len(m.endpoints) == 2:
        (r0, c0), (r1, c1) = m.endpoints
        at = ((float(r0) + float(r1)) / 2, (float(c0) + float(c1)) / 2)
    elif m.point and len(m.point) == 2:
        at = (float(m.point[0]), float(m.point[1]))
    else:
        return None
    return LocatedReading(lesion, m, m.sop_instance_uid, m.frame, at)


def match_lesions(timepoint_uid: str, primary: Sequence[LocatedReading],
                  review: Sequence[LocatedReading], place_of: PlaceOf, through: Through
                  ) -> tuple[list[LesionMatch], list[LocatedReading], list[LocatedReading]]:
    """Pairs of one timepoint's readings within MATCH_DISTANCE_MM in patient space, nearest
    first; and those of each reader left unpaired."""
    places_a = [place_of(a) for a in primary]
    places_b = [place_of(b) for b in review]
    candidates: list[tuple[float, int, int]] = []
    for i, pa in enumerate(places_a):
        for j, pb in enumerate(places_b):
            d = None if pa is None or pb is None else distance_mm(pa, pb, through)
            if d is not None and d <= MATCH_DISTANCE_MM:
                candidates.append((d, i, j))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for d, i, j in sorted(candidates):
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append(LesionMatch(timepoint_uid, primary[i], review[j], round(d, 1)))
    return (pairs, [a for i, a in enumerate(primary) if i not in used_a],
            [b for j, b in enumerate(review) if j not in used_b])


def compare_lesions(timepoints: Iterable[tuple[str, str]],
                    primary: Mapping[str, Sequence[LocatedReading]],
                    review: Mapping[str, Sequence[LocatedReading]],
                    place_of: PlaceOf, through: Through) -> LesionComparison:
    """Every timepoint's lesions matched; ``timepoints`` are (primary's, review's) ids and
    the results carry the primary's."""
    matched: list[LesionMatch] = []
    only_a: list[tuple[str, LocatedReading]] = []
    only_b: list[tuple[str, LocatedReading]] = []
    for tp, review_tp in timepoints:
        pairs, a, b = match_lesions(tp, primary.get(tp, ()), review.get(review_tp, ()),
                                    place_of, through)
        matched += pairs
        only_a += [(tp, r) for r in a]
        only_b += [(tp, r) for r in b]
    return LesionComparison(tuple(matched), tuple(only_a), tuple(only_b))


@dataclass(frozen=True)
class Agreement:
    """Agreement of two readers on paired categorical verdicts."""

    pairs: int
    agreeing: int
    kappa: float | None
    #: (first reader's category, second reader's) -> count.
    table: Mapping[tuple[str, str], int]

    @property
    def proportion(self) -> float | None:
        return None if self.pairs == 0 else self.agreeing / self.pairs


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> Agreement:
    """Cohen's kappa of two readers' categories (Cohen J. A coefficient of agreement for
    nominal scales. Educ Psychol Meas 1960;20:37-46):

        kappa = (p_o - p_e) / (1 - p_e),   p_e = sum_k (n_k,1 / N) (n_k,2 / N)

    with ``p_o`` the proportion of pairs that agree and ``n_k,r`` the number of pairs that
    reader ``r`` put in category ``k``. None when undefined: no pairs, or ``p_e`` = 1 (both
    readers used one and the same category throughout).
    """
    n = len(pairs)
    table = Counter(pairs)
    agreeing = sum(1 for a, b in pairs if a == b)
    if n == 0:
        return Agreement(0, 0, None, {})
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    p_o = agreeing / n
    p_e = sum(first[k] * second[k] for k in first) / (n * n)
    kappa = None if p_e == 1 else (p_o - p_e) / (1 - p_e)
    return Agreement(n, agreeing, kappa, dict(table))
