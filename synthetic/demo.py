"""The demo patient: a CT study at baseline and at each follow-up, and spec variations.

At the first follow-up the four target lesions shrink from a sum of diameters of 90 mm to
60 mm (-33 %), a partial response under RECIST 1.1 section 4.3.1 (at least 30 % decrease).
At the second the targets stay near that nadir (62 mm, +3 %: neither the 20 % nor the 5 mm
of progression) while a new lung nodule appears: progressive disease by a new lesion
(section 4.3.2: "the appearance of one or more new lesions is also considered
progression"), so the nadir, the best overall response and the new-lesion rule all show.
Later follow-ups keep the targets there and let the new lesion grow. The lymph node's
diameter is its short axis (RECIST 1.1 section 3.1.2: a spherical node's axes are equal).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from synthetic.spec import (
    DEFAULT_SCAN_TOP_MM,
    PatientSpec,
    SeriesKind,
    SeriesSpec,
    StudySpec,
    SyntheticLesion,
    SyntheticSpecError,
)

THIN_SLICE_MM = 1.25
LUNG_WINDOW = (-600.0, 1500.0)
SOFT_WINDOW = (40.0, 400.0)
BONE_WINDOW = (500.0, 2000.0)

DEMO_PATIENT = PatientSpec(
    patient_id="NADIR-DEMO-001",
    patient_name="Demo^Dana",
    birth_date=datetime.date(1961, 4, 12),
    sex="F",
)

# Body-frame centres (x left, y posterior, z head; mm from the sternal notch) chosen inside
# the named organ, each on a slice of both the 1.25 mm and the 5 mm reconstructions.
BASELINE_LESIONS = (
    SyntheticLesion("RUL nodule", "lung", (-80.0, -10.0, -40.0), 22.0),
    SyntheticLesion("Subcarinal node", "lymph node", (0.0, 10.0, -75.0), 18.0),
    SyntheticLesion("LLL nodule", "lung", (90.0, 30.0, -160.0), 15.0),
    SyntheticLesion("Liver segment VIII", "liver", (-70.0, 15.0, -215.0), 35.0),
)
FOLLOWUP_DIAMETERS_MM = {
    "RUL nodule": 14.0,
    "Subcarinal node": 12.0,
    "LLL nodule": 10.0,
    "Liver segment VIII": 24.0,
}
# From the second follow-up on: a sum of 62 mm, 2 mm above the nadir of 60 mm (RECIST 1.1
# section 4.3.1: progression needs +20 % of the nadir and at least +5 mm).
LATER_DIAMETERS_MM = {
    "RUL nodule": 15.0,
    "Subcarinal node": 12.0,
    "LLL nodule": 10.0,
    "Liver segment VIII": 25.0,
}
# Appears at the second follow-up, in the left upper lobe, on a slice of both the 1.25 mm
# and the 5 mm reconstructions; grows by NEW_LESION_GROWTH_MM at each later follow-up.
NEW_LESION = SyntheticLesion("LUL nodule (new)", "lung", (75.0, -20.0, -90.0), 12.0)
NEW_LESION_GROWTH_MM = 4.0

#: ``nadir demo`` pushes a baseline and two follow-ups unless told otherwise.
DEFAULT_TIMEPOINTS = 3
MAX_TIMEPOINTS = 6
# Restaging every 12 weeks, as trial protocols commonly schedule it.
FOLLOWUP_INTERVAL = datetime.timedelta(weeks=12)
# How the patient lies on the table at each follow-up after the first (height, position
# along the table, lateral offset in mm): a little differently every time, as in life.
LATER_POSES = ((152.0, -146.25, -2.0), (147.0, -152.5, 1.5), (155.0, -141.25, -3.5),
               (149.0, -148.75, 2.5))

# Another site's or technologist's names for the same reconstructions.
ALTERNATIVE_DESCRIPTIONS = {
    "scout": "Surview",
    "lung_thin": "CT THORAX HR",
    "soft_5mm": "Body 5.0 portal venous",
    "soft_plain": "Body 5.0 pre",
    "bone_thin": "Skeleton 1.25",
    "coronal_mpr": "MPR cor",
    "dose_screen": "Patient Protocol",
    "dose_report": "Dose Info",
}


@dataclass(frozen=True)
class DemoPatient:
    """Baseline and follow-up examinations of the same patient, oldest first."""

    baseline: StudySpec
    followups: tuple[StudySpec, ...]

    def __post_init__(self) -> None:
        if not self.followups:
            raise SyntheticSpecError("a demo patient needs at least one follow-up")

    @property
    def followup(self) -> StudySpec:
        """The first follow-up (the partial response)."""
        return self.followups[0]

    @property
    def studies(self) -> tuple[StudySpec, ...]:
        return (self.baseline, *self.followups)

    def seeded(self) -> tuple[tuple[StudySpec, int], ...]:
        """Each study with the seed ``nadir demo`` generates it with: 1, 2, 3, ..."""
        return tuple((spec, index + 1) for index, spec in enumerate(self.studies))


def standard_series(thin_slice_count: int | None = None) -> tuple[SeriesSpec, ...]:
    """Scout, thin lung-kernel and 5 mm soft-tissue series, and the dose report."""
    return (
        SeriesSpec(
            key="scout",
            kind=SeriesKind.LOCALIZER,
            series_number=1,
            description="Scout",
            slice_thickness_mm=0.625,
            kernel="STANDARD",
            contrast=False,
            acquisition_number=1,
            tube_current_ma=35,
        ),
        SeriesSpec(
            key="lung_thin",
            kind=SeriesKind.AXIAL,
            series_number=2,
            description="Chest-Abd C+ 1.25 Lung",
            slice_thickness_mm=THIN_SLICE_MM,
            slice_count=thin_slice_count,
            kernel="LUNG",
            noise_sd_hu=22.0,
            smooth_noise=False,
            window=LUNG_WINDOW,
            acquisition_number=2,
        ),
        SeriesSpec(
            key="soft_5mm",
            kind=SeriesKind.AXIAL,
            series_number=3,
            description="Chest-Abd C+ 5.0 Soft",
            slice_thickness_mm=5.0,
            kernel="STANDARD",
            noise_sd_hu=7.0,
            window=SOFT_WINDOW,
            acquisition_number=2,
        ),
        SeriesSpec(
            key="dose_report",
            kind=SeriesKind.DOSE_REPORT,
            series_number=999,
            description="Dose Report",
            contrast=False,
        ),
    )


def distractor_series() -> tuple[SeriesSpec, ...]:
    """Series a pairing must not confuse with the standard ones."""
    return (
        SeriesSpec(
            key="soft_plain",
            kind=SeriesKind.AXIAL,
            series_number=4,
            description="Chest-Abd 5.0 Soft non-contrast",
            slice_thickness_mm=5.0,
            kernel="STANDARD",
            noise_sd_hu=7.0,
            contrast=False,
            window=SOFT_WINDOW,
            acquisition_number=1,
        ),
        SeriesSpec(
            key="bone_thin",
            kind=SeriesKind.AXIAL,
            series_number=5,
            description="Chest-Abd C+ 1.25 Bone",
            slice_thickness_mm=THIN_SLICE_MM,
            kernel="BONE",
            noise_sd_hu=30.0,
            smooth_noise=False,
            window=BONE_WINDOW,
            acquisition_number=2,
        ),
        SeriesSpec(
            key="coronal_mpr",
            kind=SeriesKind.CORONAL_MPR,
            series_number=6,
            description="Cor MPR 3.0 Soft C+",
            slice_thickness_mm=3.0,
            kernel="STANDARD",
            noise_sd_hu=6.0,
            window=SOFT_WINDOW,
            acquisition_number=2,
        ),
        SeriesSpec(
            key="dose_screen",
            kind=SeriesKind.DOSE_SCREEN,
            series_number=998,
            description="Patient Protocol",
            contrast=False,
        ),
    )


def demo_patient(
    *,
    matrix: int = 512,
    thin_slice_count: int = 300,
    distractors: bool = False,
    rename_followup: bool = False,
    shuffle_followup: bool = False,
    timepoints: int = DEFAULT_TIMEPOINTS,
) -> DemoPatient:
    """The demo patient's baseline and ``timepoints - 1`` follow-ups (see the module).

    ``thin_slice_count`` sets the scan length: the 1.25 mm series has that many slices and
    every other axial series covers the same range. It must reach the lowest lesion.
    ``rename_followup`` and ``shuffle_followup`` vary the first follow-up only.
    """
    if not 2 <= timepoints <= MAX_TIMEPOINTS:
        raise SyntheticSpecError(
            f"timepoints must be within 2-{MAX_TIMEPOINTS}, got {timepoints}"
        )
    scan_length = (thin_slice_count - 1) * THIN_SLICE_MM
    lowest = min(les.center_mm[2] - les.radius_mm for les in BASELINE_LESIONS)
    needed = math.ceil((DEFAULT_SCAN_TOP_MM - lowest) / THIN_SLICE_MM) + 1
    if thin_slice_count < needed:
        raise SyntheticSpecError(
            f"thin_slice_count must be >= {needed} to cover every lesion, got {thin_slice_count}"
        )
    series = standard_series(thin_slice_count)
    if distractors:
        series += distractor_series()
    baseline = StudySpec(
        patient=DEMO_PATIENT,
        study_date=datetime.date(2024, 1, 15),
        study_time=datetime.time(9, 12, 40),
        accession_number="NDR24011501",
        study_id="1001",
        study_description="CT Chest Abdomen with contrast",
        lesions=BASELINE_LESIONS,
        series=series,
        scan_length_mm=scan_length,
        matrix=matrix,
    )
    followup = dataclasses.replace(
        with_lesion_diameters(baseline, FOLLOWUP_DIAMETERS_MM),
        study_date=datetime.date(2024, 4, 8),
        study_time=datetime.time(14, 3, 5),
        accession_number="NDR24040807",
        study_id="1187",
        # The patient lies a little differently: table lower, further in, off-centre.
        table_height_mm=158.0,
        table_position_mm=-143.75,
        lateral_offset_mm=3.0,
    )
    if rename_followup:
        followup = with_renamed_descriptions(followup)
    if shuffle_followup:
        followup = with_shuffled_series(followup, seed=7)
    later = tuple(_later_followup(baseline, number) for number in range(2, timepoints))
    return DemoPatient(baseline, (followup, *later))


def _later_followup(baseline: StudySpec, number: int) -> StudySpec:
    """Follow-up ``number`` (2, 3, ...): targets near their nadir, the new lesion growing."""
    new_lesion = dataclasses.replace(
        NEW_LESION, diameter_mm=NEW_LESION.diameter_mm + (number - 2) * NEW_LESION_GROWTH_MM)
    resized = with_lesion_diameters(baseline, LATER_DIAMETERS_MM)
    height, position, offset = LATER_POSES[(number - 2) % len(LATER_POSES)]
    date = baseline.study_date + number * FOLLOWUP_INTERVAL
    return dataclasses.replace(
        resized,
        lesions=(*resized.lesions, new_lesion),
        study_date=date,
        study_time=datetime.time(10 + number, 20, 15),
        accession_number=f"NDR{date:%y%m%d}{number:02d}",
        study_id=str(1187 + 100 * (number - 1)),
        table_height_mm=height,
        table_position_mm=position,
        lateral_offset_mm=offset,
    )


def with_lesion_diameters(spec: StudySpec, diameters_mm: Mapping[str, float]) -> StudySpec:
    """The same study with some lesions resized (label -> diameter in mm)."""
    unknown = set(diameters_mm) - {les.label for les in spec.lesions}
    if unknown:
        raise SyntheticSpecError(f"no lesions labelled {sorted(unknown)}")
    lesions = tuple(
        dataclasses.replace(les, diameter_mm=diameters_mm.get(les.label, les.diameter_mm))
        for les in spec.lesions
    )
    return dataclasses.replace(spec, lesions=lesions)


def with_renamed_descriptions(spec: StudySpec, names: Mapping[str, str] | None = None) -> StudySpec:
    """The same study with Series Descriptions renamed (series key -> new description).

    Without ``names``, :data:`ALTERNATIVE_DESCRIPTIONS` is used; keys it lacks keep theirs.
    """
    table = ALTERNATIVE_DESCRIPTIONS if names is None else names
    series = tuple(
        dataclasses.replace(s, description=table.get(s.key, s.description)) for s in spec.series
    )
    return dataclasses.replace(spec, series=series)


def with_shuffled_series(spec: StudySpec, seed: int) -> StudySpec:
    """The same study with series in another order and Series Numbers permuted."""
    rng = random.Random(seed)
    numbers = [s.series_number for s in spec.series]
    rng.shuffle(numbers)
    series = [
        dataclasses.replace(s, series_number=n) for s, n in zip(spec.series, numbers, strict=True)
    ]
    rng.shuffle(series)
    return dataclasses.replace(spec, series=tuple(series))


def with_series_changes(spec: StudySpec, key: str, **changes: object) -> StudySpec:
    """The same study with one series' fields changed (e.g. kernel, slice thickness)."""
    spec.series_by_key(key)  # raises for an unknown key
    series = tuple(
        dataclasses.replace(s, **changes) if s.key == key else s  # type: ignore[arg-type]
        for s in spec.series
    )
    return dataclasses.replace(spec, series=series)


def without_series(spec: StudySpec, *keys: str) -> StudySpec:
    """The same study without the named series."""
    for key in keys:
        spec.series_by_key(key)
    return dataclasses.replace(spec, series=tuple(s for s in spec.series if s.key not in keys))
