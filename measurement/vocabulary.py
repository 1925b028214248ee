"""The words every layer shares: lesion kinds, recorded statuses, criteria, organ keys.

Defined once here (and, for the engine's own readings and response codes, in
:mod:`measurement.model` and :mod:`measurement.result`); the SR writer and reader, the
report, the database and the API all use these values rather than spelling them again.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from measurement.model import Criteria, NewLesionStatus, NonTargetStatus, TargetStatus
from measurement.organs import organ_key
from measurement.readings import LesionKind
from measurement.result import Response

__all__ = [
    "Criteria",
    "LesionKind",
    "LesionStatus",
    "NEW_LESION_STATUSES",
    "NON_TARGET_STATUSES",
    "NewLesionStatus",
    "NonTargetStatus",
    "STATUSES_BY_KIND",
    "Response",
    "TARGET_STATUSES",
    "TargetStatus",
    "LABEL_PREFIX",
    "organ_key",
]


class LesionStatus(StrEnum):
    """A lesion's recorded reading at a timepoint when it is not (only) a length.

    Target and new lesions: the engine's :class:`TargetStatus` values plus
    ``disappeared``, which the engine reads as 0 mm (RECIST 1.1 s.4.3.2); new lesions
    also the engine's :class:`NewLesionStatus` values (iRECIST new-lesion non-targets).
    Non-target lesions: the engine's :class:`NonTargetStatus` values (s.4.3.3). A unit
    test keeps this union equal to the engine's enums.
    """

    TOO_SMALL = "too_small"
    NOT_EVALUABLE = "not_evaluable"
    DISAPPEARED = "disappeared"
    PRESENT = "present"
    ABSENT = "absent"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    UNEQUIVOCAL_FURTHER_INCREASE = "unequivocal_further_increase"
    NOT_EVALUATED = "not_evaluated"
    INCREASED = "increased"


#: Statuses a target or new lesion may carry instead of a caliper.
TARGET_STATUSES: tuple[LesionStatus, ...] = (
    LesionStatus.TOO_SMALL, LesionStatus.NOT_EVALUABLE, LesionStatus.DISAPPEARED)
#: Statuses a new lesion may carry: those of a target, and (iRECIST, Seymour et al. 2017
#: Table 2) present / increased / absent for a new-lesion non-target.
NEW_LESION_STATUSES: tuple[LesionStatus, ...] = TARGET_STATUSES + tuple(
    LesionStatus(s.value) for s in NewLesionStatus)
#: Statuses of a non-target lesion (it is followed by status only, never by length).
NON_TARGET_STATUSES: tuple[LesionStatus, ...] = tuple(
    LesionStatus(s.value) for s in NonTargetStatus)

#: Which statuses each kind of lesion takes.
STATUSES_BY_KIND = MappingProxyType({
    LesionKind.TARGET: TARGET_STATUSES, LesionKind.NON_TARGET: NON_TARGET_STATUSES,
    LesionKind.NEW: NEW_LESION_STATUSES})

#: Default labels: T1, T2 ... for targets, NT1 ... for non-targets, N1 ... for new lesions.
LABEL_PREFIX = MappingProxyType({
    LesionKind.TARGET: "T", LesionKind.NON_TARGET: "NT", LesionKind.NEW: "N"})
