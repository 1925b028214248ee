"""Synthetic CT studies with known lesions, for tests, benchmarks and ``nadir demo``.

>>> demo = demo_patient(matrix=128)
>>> datasets = generate_study(demo.baseline, seed=1)  # doctest: +SKIP
"""

from synthetic.demo import (
    ALTERNATIVE_DESCRIPTIONS,
    DEFAULT_TIMEPOINTS,
    DEMO_PATIENT,
    MAX_TIMEPOINTS,
    DemoPatient,
    demo_patient,
    distractor_series,
    standard_series,
    with_lesion_diameters,
    with_renamed_descriptions,
    with_series_changes,
    with_shuffled_series,
    without_series,
)
from synthetic.modules import StudyUIDs
from synthetic.spec import (
    PatientSpec,
    SeriesKind,
    SeriesSpec,
    StudySpec,
    SyntheticLesion,
    SyntheticSpecError,
)
from synthetic.study import generate_study, iter_study, uids_of, write_study

__all__ = [
    "ALTERNATIVE_DESCRIPTIONS",
    "DEFAULT_TIMEPOINTS",
    "DEMO_PATIENT",
    "MAX_TIMEPOINTS",
    "DemoPatient",
    "PatientSpec",
    "SeriesKind",
    "SeriesSpec",
    "StudySpec",
    "StudyUIDs",
    "SyntheticLesion",
    "SyntheticSpecError",
    "demo_patient",
    "distractor_series",
    "generate_study",
    "iter_study",
    "standard_series",
    "uids_of",
    "with_lesion_diameters",
    "with_renamed_descriptions",
    "with_series_changes",
    "with_shuffled_series",
    "without_series",
    "write_study",
]
