"""Tumour response engine: RECIST 1.1 and iRECIST over timepoints and lesions.

Pure code: frozen dataclasses in, frozen dataclasses out; no I/O, database, clock or
logging. Build an :class:`EvaluationInput` (directly from stored data, or from the
evaluate request's JSON with :func:`parse_evaluation_request`), call :func:`evaluate`,
and render the result with :func:`result_to_json`. Every structural problem raises
:class:`InvalidEvaluationInput` (a :class:`MeasurementError`).
"""

from measurement.codec import evaluate_request, parse_evaluation_request, result_to_json
from measurement.errors import InvalidEvaluationInput, MeasurementError
from measurement.markers import Marker
from measurement.model import (
    CoalescedInto,
    Criteria,
    EvaluationInput,
    EvaluationOptions,
    Fragments,
    Lesion,
    NewLesion,
    NewLesionStatus,
    NonTargetLesion,
    NonTargetStatus,
    TargetLesion,
    TargetReading,
    TargetStatus,
    Timepoint,
    mm,
)
from measurement.recist import evaluate
from measurement.result import (
    EvaluationResult,
    EvaluationWarning,
    MarkerValue,
    Response,
    TimepointResult,
    WarningCode,
)

__all__ = [
    "CoalescedInto",
    "Criteria",
    "EvaluationInput",
    "EvaluationOptions",
    "EvaluationResult",
    "EvaluationWarning",
    "Fragments",
    "InvalidEvaluationInput",
    "Lesion",
    "Marker",
    "MarkerValue",
    "MeasurementError",
    "NewLesion",
    "NewLesionStatus",
    "NonTargetLesion",
    "NonTargetStatus",
    "Response",
    "TargetLesion",
    "TargetReading",
    "TargetStatus",
    "Timepoint",
    "TimepointResult",
    "WarningCode",
    "evaluate",
    "evaluate_request",
    "mm",
    "parse_evaluation_request",
    "result_to_json",
]
