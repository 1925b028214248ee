"""What a synthetic CT study contains: patient, lesions, series and scanner geometry.

Coordinates: lesion centres and anatomy are given in a *body frame* fixed to the phantom
patient, with the axes of the DICOM patient coordinate system (PS3.3 C.7.6.2.1.1: +x
towards the patient's left, +y posterior, +z towards the head) and its origin on the
body's long axis at the sternal notch. Each study places that body on the table
(``table_height_mm``, ``table_position_mm``, ``lateral_offset_mm``) and may turn it
(``body_rotation_deg``, about the body-frame origin), so the same lesion has different
patient coordinates at baseline and follow-up, as on a real scanner: the images are
rendered from the moved anatomy, not relabelled. :meth:`StudySpec.to_patient_mm` converts.
"""

from __future__ import annotations

import datetime
import enum
import math
from dataclasses import dataclass

import numpy as np

from imaging.errors import ImagingError
from imaging.rigid import Matrix, euler_rotation, homogeneous


class SyntheticSpecError(ImagingError):
    """A synthetic study specification is inconsistent."""


class SeriesKind(enum.Enum):
    """The kinds of series a CT examination typically holds."""

    LOCALIZER = "localizer"  # scout / topogram: projection radiographs, ImageType LOCALIZER
    AXIAL = "axial"  # reconstructed axial slices, the volumes that get measured
    CORONAL_MPR = "coronal_mpr"  # derived multiplanar reformat, a pairing distractor
    DOSE_REPORT = "dose_report"  # X-Ray Radiation Dose SR (PS3.16 TID 10011), no pixels
    DOSE_SCREEN = "dose_screen"  # secondary-capture "patient protocol" page, Modality CT


# Body-frame z of the first axial slice: just above the lung apices.
DEFAULT_SCAN_TOP_MM = 20.0
# Thickness of the mattress between the patient's back and the table top.
TABLE_PAD_MM = 8.0
# Posterior half-axis of the phantom's trunk: the back rests on the mattress, so the
# body's axis lies this far plus the mattress above the table top.
BODY_HALF_DEPTH_MM = 115.0


@dataclass(frozen=True)
class PatientSpec:
    """Patient module values (PS3.3 C.7.1.1)."""

    patient_id: str
    patient_name: str  # PN, "Family^Given"
    birth_date: datetime.date
    sex: str  # M, F or O

    def __post_init__(self) -> None:
        if not self.patient_id or len(self.patient_id) > 64:
            raise SyntheticSpecError(f"patient_id must be 1-64 characters, got {self.patient_id!r}")
        if self.sex not in ("M", "F", "O"):
            raise SyntheticSpecError(f"sex must be M, F or O, got {self.sex!r}")


@dataclass(frozen=True)
class SyntheticLesion:
    """A spherical lesion of known size at a known body-frame position."""

    label: str
    organ: str
    center_mm: tuple[float, float, float]
    diameter_mm: float
    hu: float = 50.0  # untreated solid tumour and nodes attenuate ~40-60 HU

    def __post_init__(self) -> None:
        if not self.label:
            raise SyntheticSpecError("lesion label must not be empty")
        if not (math.isfinite(self.diameter_mm) and self.diameter_mm > 0):
            raise SyntheticSpecError(
                f"lesion {self.label!r}: diameter_mm must be > 0, got {self.diameter_mm}"
            )
        if len(self.center_mm) != 3 or not all(math.isfinite(c) for c in self.center_mm):
            raise SyntheticSpecError(
                f"lesion {self.label!r}: center_mm must be 3 finite numbers, got {self.center_mm}"
            )

    @property
    def radius_mm(self) -> float:
        return self.diameter_mm / 2.0


@dataclass(frozen=True)
class SeriesSpec:
    """One series of the study.

    ``key`` names the series' role across timepoints ("lung_thin", "soft_5mm"); it is never
    written to DICOM but seeds the series' UIDs, so tests can tell which series is which
    after descriptions were renamed or numbers shuffled.
    """

    key: str
    kind: SeriesKind
    series_number: int
    description: str
    protocol_name: str = "Chest-Abdomen CE"
    body_part: str = "CHESTABDOMEN"  # PS3.16 Annex L defined term
    slice_thickness_mm: float = 5.0
    spacing_mm: float | None = None  # None: contiguous slices, spacing = thickness
    slice_count: int | None = None  # None: cover the study's scan length
    kernel: str = "STANDARD"
    contrast: bool = True
    noise_sd_hu: float = 10.0
    smooth_noise: bool = True  # soft-tissue kernels low-pass the noise; sharp ones do not
    window: tuple[float, float] = (40.0, 400.0)  # (center, width), soft-tissue window
    kvp: float = 120.0
    tube_current_ma: int = 220
    acquisition_number: int = 1

    def __post_init__(self) -> None:
        if not self.key:
            raise SyntheticSpecError("series key must not be empty")
        if self.series_number < 0:
            raise SyntheticSpecError(
                f"series {self.key!r}: series_number must be >= 0, got {self.series_number}"
            )
        if not self.slice_thickness_mm > 0:
            raise SyntheticSpecError(
                f"series {self.key!r}: slice_thickness_mm must be > 0, "
                f"got {self.slice_thickness_mm}"
            )
        if self.spacing_mm is not None and not self.spacing_mm > 0:
            raise SyntheticSpecError(
                f"series {self.key!r}: spacing_mm must be > 0, got {self.spacing_mm}"
            )
        if self.slice_count is not None and self.slice_count < 1:
            raise SyntheticSpecError(
                f"series {self.key!r}: slice_count must be >= 1, got {self.slice_count}"
            )
        if self.noise_sd_hu < 0:
            raise SyntheticSpecError(
                f"series {self.key!r}: noise_sd_hu must be >= 0, got {self.noise_sd_hu}"
            )

    @property
    def slice_spacing_mm(self) -> float:
        return self.spacing_mm if self.spacing_mm is not None else self.slice_thickness_mm


@dataclass(frozen=True)
class StudySpec:
    """One CT examination of the phantom patient at one timepoint."""

    patient: PatientSpec
    study_date: datetime.date
    study_time: datetime.time
    accession_number: str
    study_id: str
    study_description: str
    lesions: tuple[SyntheticLesion, ...]
    series: tuple[SeriesSpec, ...]
    referring_physician_name: str = "Referrer^Rita"
    institution_name: str = "Nadir Synthetic Hospital"
    manufacturer: str = "Nadir"
    manufacturer_model_name: str = "Synthetic CT 64"
    station_name: str = "SYNCT01"
    contrast_agent: str = "Iohexol 350 mgI/ml"
    scan_top_mm: float = DEFAULT_SCAN_TOP_MM
    scan_length_mm: float = 373.75
    table_height_mm: float = 150.0
    table_position_mm: float = -150.0
    lateral_offset_mm: float = 0.0
    # The patient lies turned about the body-frame origin: degrees about the patient x,
    # y and z axes, applied in that order (imaging.rigid.euler_rotation).
    body_rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    matrix: int = 512
    fov_mm: float = 380.0

    def __post_init__(self) -> None:
        if not self.accession_number or len(self.accession_number) > 16:
            raise SyntheticSpecError(
                f"accession_number must be 1-16 characters, got {self.accession_number!r}"
            )
        self._check_unique("series key", [s.key for s in self.series])
        self._check_unique("series number", [s.series_number for s in self.series])
        self._check_unique("lesion label", [les.label for les in self.lesions])
        if not 32 <= self.matrix <= 1024:
            raise SyntheticSpecError(f"matrix must be within 32-1024, got {self.matrix}")
        if not self.fov_mm > 0:
            raise SyntheticSpecError(f"fov_mm must be > 0, got {self.fov_mm}")
        if not self.scan_length_mm >= 0:
            raise SyntheticSpecError(f"scan_length_mm must be >= 0, got {self.scan_length_mm}")
        if not 0 <= self.table_height_mm <= 300:
            raise SyntheticSpecError(
                f"table_height_mm must be within 0-300, got {self.table_height_mm}"
            )
        if len(self.body_rotation_deg) != 3 or not all(
            math.isfinite(a) and abs(a) <= 45 for a in self.body_rotation_deg
        ):
            raise SyntheticSpecError(
                f"body_rotation_deg must be 3 angles within +-45, got {self.body_rotation_deg}"
            )

    @staticmethod
    def _check_unique(what: str, values: list[object]) -> None:
        seen: set[object] = set()
        for value in values:
            if value in seen:
                raise SyntheticSpecError(f"{what} {value!r} appears twice")
            seen.add(value)

    @property
    def body_center_y_mm(self) -> float:
        """Patient-coordinate y of the body axis: the back lies on the pad on the table.

        Table Height (0018,1130) is the distance of the table top below the centre of
        rotation (PS3.3 C.8.2.1.1), i.e. the table top is at y = +TableHeight.
        """
        return self.table_height_mm - TABLE_PAD_MM - BODY_HALF_DEPTH_MM

    @property
    def body_rotation(self) -> Matrix | None:
        """The body's 3 x 3 rotation in patient space, or None when it lies straight."""
        if not any(self.body_rotation_deg):
            return None
        return euler_rotation(self.body_rotation_deg)

    @property
    def body_to_patient(self) -> Matrix:
        """4 x 4 matrix of :meth:`to_patient_mm`."""
        rotation = self.body_rotation
        return homogeneous(np.eye(3) if rotation is None else rotation,
                           (self.lateral_offset_mm, self.body_center_y_mm,
                            self.table_position_mm))

    def to_patient_mm(self, point: tuple[float, float, float]) -> tuple[float, float, float]:
        """Body-frame point -> patient coordinates (PS3.3 C.7.6.2.1.1) in this study."""
        x, y, z = point
        rotation = self.body_rotation
        if rotation is not None:
            x, y, z = (float(v) for v in rotation @ np.array([x, y, z], dtype=np.float64))
        return (
            x + self.lateral_offset_mm,
            y + self.body_center_y_mm,
            z + self.table_position_mm,
        )

    def lesion(self, label: str) -> SyntheticLesion:
        for les in self.lesions:
            if les.label == label:
                return les
        raise SyntheticSpecError(f"no lesion labelled {label!r}")

    def lesion_center_patient_mm(self, label: str) -> tuple[float, float, float]:
        return self.to_patient_mm(self.lesion(label).center_mm)

    def series_by_key(self, key: str) -> SeriesSpec:
        for s in self.series:
            if s.key == key:
                return s
        raise SyntheticSpecError(f"no series with key {key!r}")

    def slice_positions_mm(self, series: SeriesSpec) -> tuple[float, ...]:
        """Patient z of each axial slice, head first as scanners acquire (z descending)."""
        spacing = series.slice_spacing_mm
        count = series.slice_count
        if count is None:
            count = int(math.floor(self.scan_length_mm / spacing + 1e-6)) + 1
        top = self.scan_top_mm + self.table_position_mm
        return tuple(round(top - k * spacing, 4) for k in range(count))

    @property
    def pixel_spacing_mm(self) -> float:
        return self.fov_mm / self.matrix
