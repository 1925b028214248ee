"""Output types of the RECIST 1.1 / iRECIST engine: the verdict with its reasons.

Response codes follow the Nadir contract of ``POST /api/v1/recist/evaluate``:

* ``target_response`` and ``non_target_response`` always use the RECIST 1.1 codes
  (``CR``, ``PR``, ``SD``, ``PD``, ``NE``, ``NON_CR_NON_PD``, ``NA``), under iRECIST too.
  iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52, Table 2) assesses each
  category exactly as RECIST 1.1 does; only the combination into a time-point
  response and its confirmation differ, so the category codes stay comparable
  across criteria.
* ``overall_response`` and ``best_overall_response`` are RECIST 1.1 codes under
  RECIST 1.1 and ``iCR``, ``iPR``, ``iSD``, ``iUPD``, ``iCPD``, ``NON_CR_NON_PD``, ``NE``
  under iRECIST.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from measurement.model import Criteria, Timepoint


class Response(StrEnum):
    """A response category code as it appears in the contract's JSON."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    NA = "NA"  # the category has no lesions
    ICR = "iCR"
    IPR = "iPR"
    ISD = "iSD"
    IUPD = "iUPD"
    ICPD = "iCPD"


class WarningCode(StrEnum):
    """Deviations reported alongside a result; responses are computed anyway.

    Baseline selection (RECIST 1.1 sections 3.1, 4.2): ``TOO_MANY_TARGETS``,
    ``TOO_MANY_TARGETS_IN_ORGAN``, ``TARGET_BELOW_MEASURABLE_SIZE``.
    ``NEW_NODE_NOT_PATHOLOGICAL``: a new lymph node under 10 mm short axis, not counted
    as a new lesion (RECIST 1.1 section 3.1.1; EORTC RECIST FAQ "New lymph node lesions").
    ``LATE_CONFIRMATION``: the scan that confirmed an iUPD as iCPD is more than 8 weeks
    after it (iRECIST, Seymour et al. 2017: confirm 4-8 weeks after iUPD).
    """

    TOO_MANY_TARGETS = "TOO_MANY_TARGETS"
    TOO_MANY_TARGETS_IN_ORGAN = "TOO_MANY_TARGETS_IN_ORGAN"
    TARGET_BELOW_MEASURABLE_SIZE = "TARGET_BELOW_MEASURABLE_SIZE"
    NEW_NODE_NOT_PATHOLOGICAL = "NEW_NODE_NOT_PATHOLOGICAL"
    LATE_CONFIRMATION = "LATE_CONFIRMATION"


@dataclass(frozen=True)
class EvaluationWarning:
    """A deviation from the guideline's baseline rules; responses are computed anyway."""

    code: WarningCode
    message: str
    lesion_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MarkerValue:
    """A tumour marker's level at one timepoint (``None``: not measured there), for charts."""

    marker_id: str
    unit: str
    value: Decimal | None
    upper_limit_normal: Decimal


@dataclass(frozen=True)
class SplitLesion:
    """A target recorded as fragments at a timepoint (RECIST 1.1 section 4.3.2): its
    diameter there is ``total_mm``, the sum of the fragments' longest diameters."""

    lesion_id: str
    fragments_mm: tuple[Decimal, ...]
    total_mm: Decimal


@dataclass(frozen=True)
class CoalescedLesion:
    """A target merged into ``into`` at a timepoint (RECIST 1.1 section 4.3.2): it counts
    0 mm there, and ``into`` carries the merged lesion's diameter."""

    lesion_id: str
    into: str


@dataclass(frozen=True, kw_only=True)
class TimepointResult:
    """The engine's verdict at one timepoint.

    At baseline only ``sum_mm`` is set (``None`` when there are no target lesions).
    Sizes are exact mm; percentages are rounded to 0.1 % for display, while every
    decision was taken on exact values. ``reasons`` explains each category verdict in
    words, citing the rule applied. ``markers`` holds every tumour marker of the input
    (at baseline too), in input order. ``split_lesions`` and ``coalesced_lesions`` say
    which targets split or merged at this timepoint (in input order).
    ``markers_holding_back_cr``: ids of the tumour markers that alone keep this
    timepoint's response from being complete: every target and non-target lesion is gone
    and no new lesion is there, but these markers, above their upper limit of normal at
    baseline, are not back within it (or were not measured): RECIST 1.1 sections 3.2.2 and
    4.3.3, and Table 1 (target CR with non-target non-CR/non-PD is PR).
    """

    timepoint: Timepoint
    is_baseline: bool
    sum_mm: Decimal | None
    nadir_mm: Decimal | None = None
    change_from_baseline_pct: Decimal | None = None
    change_from_nadir_pct: Decimal | None = None
    change_from_nadir_mm: Decimal | None = None
    target_response: Response | None = None
    non_target_response: Response | None = None
    new_lesions: bool | None = None
    overall_response: Response | None = None
    mixed_response: bool | None = None
    reasons: tuple[str, ...] = ()
    markers: tuple[MarkerValue, ...] = ()
    split_lesions: tuple[SplitLesion, ...] = ()
    coalesced_lesions: tuple[CoalescedLesion, ...] = ()
    markers_holding_back_cr: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EvaluationResult:
    """Per-timepoint verdicts (baseline first), best overall response and warnings."""

    criteria: Criteria
    timepoints: tuple[TimepointResult, ...]
    best_overall_response: Response
    best_overall_reasons: tuple[str, ...]
    warnings: tuple[EvaluationWarning, ...]
