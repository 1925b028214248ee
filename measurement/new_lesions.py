"""New lesions: from when each counts, whether it is still there, and the iRECIST sums.

Sources:

* RECIST 1.1 (Eisenhauer et al. 2009) section 4.3.5: a new lesion is progression; an
  equivocal one counts once confirmed, and then from the date of the scan that first
  showed it.
* RECIST 1.1 section 3.1.1 and the EORTC RECIST FAQ "New lymph node lesions": a node
  under 10 mm short axis is not pathological and is not recorded; once it reaches
  10 mm it meets the criteria for malignancy.
* iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52), new lesions: "five lesions (no
  more than two per organ)" are measured as new-lesion targets (NLT), summed apart from
  the baseline targets; the others are new-lesion non-targets.

Choices of the Nadir contract, where the guidelines leave room:

* a nodal new lesion measured under 10 mm at its first sighting counts from the first
  later timepoint where it measures 10 mm or more (never, if it does not); one without a
  size at its first sighting is taken as the reader recorded it: a new lesion;
* new-lesion targets are chosen in order of first counting timepoint and, among lesions
  first counting at the same timepoint, largest size there first, ties by lesion id; a
  lesion joins while fewer than five are chosen and fewer than two in its organ (organs
  compared as for baseline targets, unnamed organs not limited); only a lesion measured
  in mm (> 0) at that timepoint can be a target: ``too_small`` or unmeasured ones are
  non-targets. Measurability (10 mm; nodes 15 mm) is not required of them;
* under iRECIST a new lesion measured 0 mm (a node: under 10 mm), or recorded
  ``absent``, has resolved and no longer sustains progression;
* a new lesion recorded by status (``present``) rather than mm where it first counts is
  a new-lesion non-target; ``increased`` on a new-lesion target is refused under iRECIST
  (its growth is judged on the new-lesion target sum, which needs its size in mm).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from measurement.errors import invalid, lesion_subject, quote
from measurement.model import NewLesion, NewLesionStatus, Timepoint, reading_mm
from measurement.result import EvaluationWarning, WarningCode
from measurement.selection import organ_key

# RECIST 1.1 section 3.1.1: nodes with a short axis < 10 mm are non-pathological.
NODE_PATHOLOGICAL_SHORT_AXIS_MM = Decimal(10)
# iRECIST, new lesions: at most five new-lesion targets ...
MAX_NEW_LESION_TARGETS = 5
# ... and at most two per organ.
MAX_NEW_LESION_TARGETS_PER_ORGAN = 2


@dataclass(frozen=True)
class NewLesionPlan:
    """What the new lesions of one evaluation mean at each timepoint.

    ``first_counting`` maps a lesion id to the index of the first timepoint at which it
    counts (lesions that never count are absent). ``target_ids`` are the iRECIST
    new-lesion targets.
    """

    lesions: tuple[NewLesion, ...]
    first_counting: Mapping[str, int]
    target_ids: frozenset[str]
    warnings: tuple[EvaluationWarning, ...]

    def counting(self, index: int) -> frozenset[str]:
        """New lesions that count at timepoint ``index`` (RECIST 1.1 section 4.3.5)."""
        return frozenset(lid for lid, first in self.first_counting.items() if first <= index)

    def present(self, counting: frozenset[str], timepoint_id: str) -> frozenset[str]:
        """Counting lesions not resolved at the timepoint (iRECIST: 0 mm; a node < 10 mm)."""
        if not counting:
            return counting
        return frozenset(les.id for les in self.lesions
                         if les.id in counting and not _resolved(les, timepoint_id))

    def target_sizes(self, counting: frozenset[str],
                     timepoint_id: str) -> Mapping[str, Decimal]:
        """Sizes of the new-lesion targets measured at the timepoint (iRECIST NLT sum)."""
        return self._sizes(counting, timepoint_id, targets=True)

    def non_target_sizes(self, counting: frozenset[str],
                         timepoint_id: str) -> Mapping[str, Decimal]:
        """Sizes of the new-lesion non-targets measured at the timepoint (iRECIST: "any
        increase" of one confirms an iUPD, Table 2)."""
        return self._sizes(counting, timepoint_id, targets=False)

    def increased(self, counting: frozenset[str], timepoint_id: str) -> frozenset[str]:
        """New-lesion non-targets recorded ``increased`` at the timepoint (iRECIST Table 2)."""
        if not counting:
            return counting
        return frozenset(les.id for les in self.lesions
                         if les.id in counting and les.id not in self.target_ids
                         and les.measurements.get(timepoint_id) is NewLesionStatus.INCREASED)

    def _sizes(self, counting: frozenset[str], timepoint_id: str, *,
               targets: bool) -> Mapping[str, Decimal]:
        sizes: dict[str, Decimal] = {}
        for les in self.lesions if counting else ():
            if (les.id in self.target_ids) is targets and les.id in counting:
                size = reading_mm(les.measurements.get(timepoint_id))
                if size is not None:
                    sizes[les.id] = size
        return sizes

    def check_irecist_statuses(self) -> None:
        """Refuse ``increased`` on a new-lesion target: iRECIST Table 2 judges a target's
        growth on the new-lesion target sum (>= 5 mm), which needs a size in mm; "any
        increase" is the rule of new-lesion non-targets only."""
        for les in sorted(self.lesions, key=lambda les: les.id):
            if les.id not in self.target_ids:
                continue
            for timepoint_id, reading in sorted(les.measurements.items()):
                if reading is NewLesionStatus.INCREASED:
                    raise invalid(
                        lesion_subject(les.id), f"measurements[{quote(timepoint_id)}]",
                        '"increased" applies to new-lesion non-targets; this lesion is a '
                        "new-lesion target (measured in mm where it first counts, iRECIST): "
                        "record its size in mm", lesion_id=les.id, timepoint_id=timepoint_id)


def plan_new_lesions(lesions: Sequence[NewLesion],
                     timepoints: Sequence[Timepoint]) -> NewLesionPlan:
    """Counting start, new-lesion targets and warnings for ``lesions``."""
    ids = [tp.id for tp in timepoints]
    order = {timepoint_id: index for index, timepoint_id in enumerate(ids)}
    first_counting: dict[str, int] = {}
    warnings: list[EvaluationWarning] = []
    for les in sorted(lesions, key=lambda les: les.id):
        if not les.counts:
            continue  # equivocal and never confirmed (RECIST 1.1 section 4.3.5)
        first = order[les.timepoint_id]
        if les.nodal:
            start, warning = _pathological_from(les, ids, first)
            if warning is not None:
                warnings.append(warning)
            if start is None:
                continue
            first = start
        first_counting[les.id] = first
    return NewLesionPlan(
        lesions=tuple(lesions),
        first_counting=first_counting,
        target_ids=_new_lesion_targets(lesions, first_counting, ids),
        warnings=tuple(warnings),
    )


def _pathological_from(les: NewLesion, ids: Sequence[str],
                       first: int) -> tuple[int | None, EvaluationWarning | None]:
    """RECIST 1.1 section 3.1.1; EORTC FAQ "New lymph node lesions": from when a new node
    counts, and the warning when it was under 10 mm short axis at its first sighting."""
    reading = les.measurements.get(ids[first])
    size = reading_mm(reading)
    if size is None or size >= NODE_PATHOLOGICAL_SHORT_AXIS_MM:
        return first, None
    later = next((index for index in range(first + 1, len(ids))
                  if (grown := reading_mm(les.measurements.get(ids[index]))) is not None
                  and grown >= NODE_PATHOLOGICAL_SHORT_AXIS_MM), None)
    seen = ("is too small to measure" if type(reading) is not Decimal
            else f"measures {size} mm short axis")
    counted = ("not counted as a new lesion" if later is None
               else f"counted as a new lesion only from {ids[later]!r}, where it reaches "
                    f"{NODE_PATHOLOGICAL_SHORT_AXIS_MM} mm")
    return later, EvaluationWarning(
        WarningCode.NEW_NODE_NOT_PATHOLOGICAL,
        f"new lymph node {les.id!r} {seen} at {ids[first]!r}, below the "
        f"{NODE_PATHOLOGICAL_SHORT_AXIS_MM} mm of a pathological node (RECIST 1.1 section "
        f"3.1.1): {counted}",
        (les.id,),
    )


def _new_lesion_targets(lesions: Sequence[NewLesion], first_counting: Mapping[str, int],
                        ids: Sequence[str]) -> frozenset[str]:
    """iRECIST: at most five new-lesion targets, two per organ; order in the module doc."""
    candidates: list[tuple[int, Decimal, str, NewLesion]] = []
    for les in lesions:
        first = first_counting.get(les.id)
        if first is None:
            continue
        size = les.measurements.get(ids[first])
        if type(size) is Decimal and size > 0:
            candidates.append((first, -size, les.id, les))
    chosen: set[str] = set()
    per_organ: Counter[str] = Counter()
    for _, _, lesion_id, les in sorted(candidates, key=lambda c: c[:3]):
        if len(chosen) == MAX_NEW_LESION_TARGETS:
            break
        organ = organ_key(les)
        if organ and per_organ[organ] == MAX_NEW_LESION_TARGETS_PER_ORGAN:
            continue
        chosen.add(lesion_id)
        per_organ[organ] += 1
    return frozenset(chosen)


def _resolved(les: NewLesion, timepoint_id: str) -> bool:
    reading = les.measurements.get(timepoint_id)
    if reading is NewLesionStatus.ABSENT:
        return True
    size = reading_mm(reading)
    if size is None:
        return False
    return size < NODE_PATHOLOGICAL_SHORT_AXIS_MM if les.nodal else size == 0
