"""The words every layer shares: lesion kinds, recorded statuses, criteria, organ keys.

Defined once here (and, for the engine's own readings and response codes, in
:mod:`measurement.model` and :mod:`measurement.result`); the SR writer and reader, the
report, the database and the API all use these values rather than spelling them again.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from measurement.model import Criteria, NonTargetStatus, TargetStatus
from measurement.organs import organ_key
from measurement.result import Response

__all__ = [
    "Criteria",
    "LesionKind",
    "LesionStatus",
    "NON_TARGET_STATUSES",
    "NonTargetStatus",
    "Response",
    "TARGET_STATUSES",
    "TargetStatus",
    "LABEL_PREFIX",
    "organ_key",
]


class LesionKind(StrEnum):
    """How a lesion is followed (RECIST 1.1 sections 3.1 and 4.3)."""

    TARGET = "target"
    NON_TARGET = "non_target"
    NEW = "new"


class LesionStatus(StrEnum):
    """A lesion's recorded reading at a timepoint when it is not (only) a length.

    Target and new lesions: the engine's :class:`TargetStatus` values plus
    ``disappeared``, which the engine reads as 0 mm (RECIST 1.1 s.4.3.2). Non-target
    lesions: the engine's :class:`NonTargetStatus` values (s.4.3.3). A unit test keeps
    this union equal to the engine's enums.
    """

    TOO_SMALL = "too_small"
    NOT_EVALUABLE = "not_evaluable"
    DISAPPEARED = "disappeared"
    PRESENT = "present"
    ABSENT = "absent"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    UNEQUIVOCAL_FURTHER_INCREASE = "unequivocal_further_increase"
    NOT_EVALUATED = "not_evaluated"


#: Statuses a target or new lesion may carry instead of a caliper.
TARGET_STATUSES: tuple[LesionStatus, ...] = (
    LesionStatus.TOO_SMALL, LesionStatus.NOT_EVALUABLE, LesionStatus.DISAPPEARED)
#: Statuses of a non-target lesion (it is followed by status only, never by length).
NON_TARGET_STATUSES: tuple[LesionStatus, ...] = tuple(
    LesionStatus(s.value) for s in NonTargetStatus)

#: Default labels: T1, T2 ... for targets, NT1 ... for non-targets, N1 ... for new lesions.
LABEL_PREFIX = MappingProxyType({
    LesionKind.TARGET: "T", LesionKind.NON_TARGET: "NT", LesionKind.NEW: "N"})
