"""Baseline target-selection checks, reported as warnings next to the result.

Sources: RECIST 1.1 (Eisenhauer et al. 2009) section 3.1.1 (measurability: >= 10 mm
long axis on CT; malignant nodes >= 15 mm short axis) and section 4.2 (at most five
target lesions in total and two per organ). The Nadir contract adds that organ names
are compared by one key (case, spacing and aliases ignored: measurement.organs), that
all nodal lesions count as one organ, and that every target has a measurement at
baseline (EvaluationInput refuses ``too_small``, ``not_evaluable`` and 0 mm there).
Responses are computed anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from measurement import organs
from measurement.model import NewLesion, TargetLesion, baseline_mm
from measurement.result import EvaluationWarning, WarningCode

# RECIST 1.1 section 4.2: a maximum of five target lesions in total ...
MAX_TARGETS = 5
# ... and a maximum of two per organ.
MAX_TARGETS_PER_ORGAN = 2
# RECIST 1.1 section 3.1.1: measurable means >= 10 mm long axis (CT, slice <= 5 mm) ...
MIN_MEASURABLE_MM = Decimal(10)
# ... and, for a pathological lymph node, >= 15 mm short axis.
MIN_MEASURABLE_NODE_SHORT_AXIS_MM = Decimal(15)
# Nadir contract: all nodal lesions count as one organ.
_LYMPH_NODES = "lymph nodes"


def selection_warnings(targets: Sequence[TargetLesion],
                       baseline_id: str) -> tuple[EvaluationWarning, ...]:
    """Warnings in a fixed order: by code, then organ or lesion id (input order ignored)."""
    warnings: list[EvaluationWarning] = []
    if len(targets) > MAX_TARGETS:
        warnings.append(EvaluationWarning(
            WarningCode.TOO_MANY_TARGETS,
            f"{len(targets)} target lesions; RECIST 1.1 section 4.2 allows at most "
            f"{MAX_TARGETS}",
            tuple(sorted(les.id for les in targets)),
        ))
    warnings.extend(_organ_warnings(targets))
    warnings.extend(_size_warnings(targets, baseline_id))
    return tuple(warnings)


def organ_key(lesion: TargetLesion | NewLesion) -> str:
    """Organ names compared by :func:`measurement.organs.organ_key` (case, spacing and
    aliases such as "lungs"/"pulmonary" ignored); all nodes are one organ.

    Also used for iRECIST new-lesion targets (at most two per organ, as at baseline).
    """
    return _LYMPH_NODES if lesion.nodal else organs.organ_key(lesion.organ)


def _organ_warnings(targets: Sequence[TargetLesion]) -> list[EvaluationWarning]:
    by_organ: dict[str, list[str]] = defaultdict(list)
    for les in targets:
        key = organ_key(les)
        if key:  # an unnamed organ cannot be compared with anything
            by_organ[key].append(les.id)
    return [
        EvaluationWarning(
            WarningCode.TOO_MANY_TARGETS_IN_ORGAN,
            f"{len(ids)} target lesions in {organ} ({', '.join(sorted(ids))}); RECIST 1.1 "
            f"section 4.2 allows at most {MAX_TARGETS_PER_ORGAN} per organ",
            tuple(sorted(ids)),
        )
        for organ, ids in sorted(by_organ.items())
        if len(ids) > MAX_TARGETS_PER_ORGAN
    ]


def _size_warnings(targets: Sequence[TargetLesion],
                   baseline_id: str) -> list[EvaluationWarning]:
    warnings: list[EvaluationWarning] = []
    for les in sorted(targets, key=lambda les: les.id):
        size = baseline_mm(les.measurements[baseline_id])
        minimum = MIN_MEASURABLE_NODE_SHORT_AXIS_MM if les.nodal else MIN_MEASURABLE_MM
        if size < minimum:
            axis = "short axis" if les.nodal else "long axis"
            warnings.append(EvaluationWarning(
                WarningCode.TARGET_BELOW_MEASURABLE_SIZE,
                f"target lesion {les.id!r} measures {size} mm {axis} at baseline, below "
                f"the {minimum} mm of RECIST 1.1 section 3.1.1",
                (les.id,),
            ))
    return warnings
