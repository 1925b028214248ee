"""Pair the series of a baseline study with those of a follow-up study (issue 2, item 5).

Pure functions over :class:`~imaging.model.SeriesDescriptor`: no I/O, no clock. Each
candidate pair gets a score in [0, 1], a weighted mean of feature similarities, with short
reasons; the pairing is the one-to-one assignment of largest total score (Hungarian
method, :func:`scipy.optimize.linear_sum_assignment`). Series that are not measurable
volumes (localizers, dose reports, screen captures, single-level bolus trackers) are left
out first, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.uid import UID
from scipy.optimize import linear_sum_assignment

from imaging.errors import ImagingError, PairingError
from imaging.features import (
    body_regions,
    contrast_state,
    description_tokens,
    kernel_family,
    kernel_similarity,
)
from imaging.geometry import plane_name, slice_normal
from imaging.model import SeriesDescriptor

# Storage SOP classes of cross-sectional images (PS3.4 B.5): CT, MR, PET, single- and
# multi-frame. Everything else (SR, secondary capture, presentation states) is no volume.
_SINGLE_FRAME_VOLUME_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.2",  # CT Image
        "1.2.840.10008.5.1.4.1.1.4",  # MR Image
        "1.2.840.10008.5.1.4.1.1.128",  # Positron Emission Tomography Image
    }
)
_MULTI_FRAME_VOLUME_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image
        "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT Image
        "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image
        "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR Image
        "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image
        "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET Image
    }
)
# Modalities (PS3.3 C.7.3.1.1.1) of objects that carry no image volume.
_NON_IMAGE_MODALITIES = frozenset(
    {"SR", "PR", "KO", "DOC", "REG", "RTSTRUCT", "RTPLAN", "RTRECORD", "SEG", "FID", "PLAN"}
)
_LOCALIZER_WORDS = frozenset(
    {"scout", "topogram", "topo", "localizer", "localiser", "surview", "scanogram", "pilot"}
)
_REPORT_WORDS = frozenset({"dose", "screen", "report"})
# A single-frame series needs this many slices to be a volume one can measure in; scouts
# have 1-3 images.
MIN_VOLUME_INSTANCES = 10
# Bolus-tracking monitor scans repeat one table position; a volume spans more than this.
MIN_VOLUME_EXTENT_MM = 20.0

# Feature weights (sum 1). Geometry and reconstruction dominate: a radiologist compares
# like with like (same plane, kernel, thickness, phase); descriptions get renamed between
# sites and software versions, so words weigh less than any two of the others together.
WEIGHT_ORIENTATION = 0.20
WEIGHT_KERNEL = 0.18
WEIGHT_THICKNESS = 0.14
WEIGHT_CONTRAST = 0.12
WEIGHT_DESCRIPTION = 0.12
WEIGHT_COVERAGE = 0.08
WEIGHT_BODY_PART = 0.08
WEIGHT_PIXEL_SPACING = 0.04
WEIGHT_DERIVATION = 0.04
# Similarity credited for a feature one of the two series does not record.
UNKNOWN_SIMILARITY = 0.5
# Thickness ratio at which thickness similarity reaches 0 (1.25 mm vs 5 mm).
_THICKNESS_RATIO_ZERO = 4.0
DEFAULT_MIN_SCORE = 0.6


@dataclass(frozen=True)
class SeriesPair:
    """A baseline series paired with a follow-up series, with score and reasons."""

    baseline_series_uid: str
    followup_series_uid: str
    score: float
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.baseline_series_uid or not self.followup_series_uid:
            raise PairingError(
                f"series UIDs must not be empty, got {self.baseline_series_uid!r} and "
                f"{self.followup_series_uid!r}"
            )
        if not 0.0 <= self.score <= 1.0:
            raise PairingError(f"score must be within [0, 1], got {self.score}")


@dataclass(frozen=True)
class Pairing:
    """The chosen pairs, the series left unpaired, and why series were excluded.

    ``excluded`` holds (series UID, reason) for baseline and follow-up series that are not
    volumes; they are also listed as unpaired.
    """

    pairs: tuple[SeriesPair, ...]
    unpaired_baseline: tuple[str, ...]
    unpaired_followup: tuple[str, ...]
    excluded: tuple[tuple[str, str], ...] = ()


def is_volume_series(d: SeriesDescriptor) -> tuple[bool, str]:
    """Whether the series is a measurable image volume, and why (not)."""
    modality = d.modality.strip().upper()
    if modality in _NON_IMAGE_MODALITIES:
        return False, f"modality {modality} holds no images"
    if d.sop_class_uid and d.sop_class_uid not in (
        _SINGLE_FRAME_VOLUME_SOP_CLASSES | _MULTI_FRAME_VOLUME_SOP_CLASSES
    ):
        return False, f"{UID(d.sop_class_uid).name} is not a cross-sectional image"
    if "LOCALIZER" in (v.upper() for v in d.image_type):
        return False, "ImageType LOCALIZER: a scout"
    words = description_tokens(d.description)
    if words & _LOCALIZER_WORDS:
        return False, f"description {d.description!r} names a localizer"
    if words & _REPORT_WORDS or {"patient", "protocol"} <= words:
        return False, f"description {d.description!r} names a dose or protocol page"
    multi_frame = d.sop_class_uid in _MULTI_FRAME_VOLUME_SOP_CLASSES
    if not multi_frame and d.instance_count < MIN_VOLUME_INSTANCES:
        return False, f"{d.instance_count} images: too few for a volume"
    if not multi_frame and d.z_range_mm is not None:
        extent = d.z_range_mm[1] - d.z_range_mm[0]
        if extent < MIN_VOLUME_EXTENT_MM:
            return False, f"slices span {extent:g} mm: a single-level (monitoring) series"
    plane = _plane(d) or "unknown-plane"
    return True, f"{plane} volume of {d.instance_count} images"


def score_pair(b: SeriesDescriptor, f: SeriesDescriptor) -> tuple[float, tuple[str, ...]]:
    """Similarity of a baseline and a follow-up series in [0, 1], with reasons.

    Different modalities never pair (score 0). Otherwise the score is the weighted mean of
    the feature similarities below; a feature either series lacks counts as
    :data:`UNKNOWN_SIMILARITY`.
    """
    mod_b, mod_f = b.modality.strip().upper(), f.modality.strip().upper()
    if mod_b != mod_f:
        return 0.0, (f"modality {mod_b or '?'} vs {mod_f or '?'}",)
    features = (
        (WEIGHT_ORIENTATION, *_orientation(b, f)),
        (WEIGHT_KERNEL, *_kernel(b, f)),
        (WEIGHT_THICKNESS, *_thickness(b, f)),
        (WEIGHT_CONTRAST, *_contrast(b, f)),
        (WEIGHT_DESCRIPTION, *_description(b, f)),
        (WEIGHT_COVERAGE, *_coverage(b, f)),
        (WEIGHT_BODY_PART, *_body_part(b, f)),
        (WEIGHT_PIXEL_SPACING, *_pixel_spacing(b, f)),
        (WEIGHT_DERIVATION, *_derivation(b, f)),
    )
    total = sum(w * (UNKNOWN_SIMILARITY if s is None else s) for w, s, _ in features)
    score = round(min(1.0, max(0.0, total)), 4)
    return score, (f"same modality {mod_b}", *(reason for _, _, reason in features))


def pair_series(
    baseline: Sequence[SeriesDescriptor],
    followup: Sequence[SeriesDescriptor],
    *,
    min_score: float = DEFAULT_MIN_SCORE,
) -> Pairing:
    """One-to-one pairing of baseline with follow-up volume series of largest total score.

    Pairs scoring below ``min_score`` are not made. The result does not depend on the
    order of the inputs: series are sorted by UID before the assignment, and every tuple
    of the result is sorted.
    """
    if not 0.0 <= min_score <= 1.0:
        raise PairingError(f"min_score must be within [0, 1], got {min_score}")
    b_all = _sorted_unique(baseline, "baseline")
    f_all = _sorted_unique(followup, "followup")
    excluded: list[tuple[str, str]] = []
    b_vol = _volumes(b_all, excluded)
    f_vol = _volumes(f_all, excluded)
    pairs: list[SeriesPair] = []
    if b_vol and f_vol:
        scored = [[score_pair(b, f) for f in f_vol] for b in b_vol]
        matrix = np.array([[s for s, _ in row] for row in scored], dtype=np.float64)
        # Pairs below the threshold will be dropped anyway; worth nothing to the assignment.
        matrix[matrix < min_score] = 0.0
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            score, reasons = scored[r][c]
            if score >= min_score:
                pairs.append(
                    SeriesPair(
                        b_vol[r].series_instance_uid, f_vol[c].series_instance_uid, score, reasons
                    )
                )
    paired_b = {p.baseline_series_uid for p in pairs}
    paired_f = {p.followup_series_uid for p in pairs}
    return Pairing(
        pairs=tuple(sorted(pairs, key=lambda p: p.baseline_series_uid)),
        unpaired_baseline=tuple(
            d.series_instance_uid for d in b_all if d.series_instance_uid not in paired_b
        ),
        unpaired_followup=tuple(
            d.series_instance_uid for d in f_all if d.series_instance_uid not in paired_f
        ),
        excluded=tuple(sorted(excluded)),
    )


def _sorted_unique(series: Sequence[SeriesDescriptor], which: str) -> list[SeriesDescriptor]:
    ordered = sorted(series, key=lambda d: d.series_instance_uid)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.series_instance_uid == b.series_instance_uid:
            raise PairingError(f"{which} series {a.series_instance_uid} is listed twice")
    return ordered


def _volumes(
    series: list[SeriesDescriptor], excluded: list[tuple[str, str]]
) -> list[SeriesDescriptor]:
    volumes = []
    for d in series:
        ok, reason = is_volume_series(d)
        if ok:
            volumes.append(d)
        else:
            excluded.append((d.series_instance_uid, reason))
    return volumes


Feature = tuple[float | None, str]


def _plane(d: SeriesDescriptor) -> str | None:
    if d.orientation is None:
        return None
    try:
        return plane_name(d.orientation)
    except ImagingError:
        return None


def _orientation(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    plane_b, plane_f = _plane(b), _plane(f)
    if b.orientation is None or f.orientation is None or plane_b is None or plane_f is None:
        return None, "orientation unknown"
    n_b, n_f = slice_normal(b.orientation), slice_normal(f.orientation)
    # |cos| of the angle between slice normals: 1 for parallel planes, 0 for orthogonal.
    cosine = abs(sum(x * y for x, y in zip(n_b, n_f, strict=True)))
    relation = "=" if plane_b == plane_f else "vs"
    return min(1.0, cosine), f"orientation {plane_b} {relation} {plane_f}"


def _kernel(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    fam_b, fam_f = kernel_family(b.convolution_kernel), kernel_family(f.convolution_kernel)
    similarity = kernel_similarity(fam_b, fam_f)
    relation = "=" if fam_b is fam_f else "vs"
    names = f" ({b.convolution_kernel or '-'}, {f.convolution_kernel or '-'})"
    return similarity, f"kernel family {fam_b.value} {relation} {fam_f.value}{names}"


def _thickness(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    t_b, t_f = b.slice_thickness_mm, f.slice_thickness_mm
    if not t_b or not t_f:
        return None, "slice thickness unknown"
    similarity = max(0.0, 1.0 - abs(math.log(t_b / t_f)) / math.log(_THICKNESS_RATIO_ZERO))
    return similarity, f"slice thickness {t_b:g} vs {t_f:g} mm"


def _yes_no(state: bool | None) -> str:
    return "unknown" if state is None else ("yes" if state else "no")


def _contrast(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    c_b, c_f = contrast_state(b), contrast_state(f)
    relation = "=" if c_b == c_f else "vs"
    reason = f"contrast {_yes_no(c_b)} {relation} {_yes_no(c_f)}"
    if c_b is None or c_f is None:
        return None, reason
    return (1.0 if c_b == c_f else 0.0), reason


def _description(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    w_b, w_f = description_tokens(b.description), description_tokens(f.description)
    if not w_b or not w_f:
        return None, "description missing"
    shared = w_b & w_f
    union = w_b | w_f
    listed = ", ".join(sorted(shared)) if shared else "none"
    return len(shared) / len(
        union
    ), f"description words shared {len(shared)}/{len(union)}: {listed}"


def _coverage(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    if b.z_range_mm is None or f.z_range_mm is None:
        return None, "coverage unknown"
    len_b = b.z_range_mm[1] - b.z_range_mm[0]
    len_f = f.z_range_mm[1] - f.z_range_mm[0]
    if len_b <= 0 or len_f <= 0:
        return None, "coverage unknown"
    if b.frame_of_reference_uid and b.frame_of_reference_uid == f.frame_of_reference_uid:
        # Same table position (unusual across studies): compare the ranges themselves.
        overlap = min(b.z_range_mm[1], f.z_range_mm[1]) - max(b.z_range_mm[0], f.z_range_mm[0])
        span = max(b.z_range_mm[1], f.z_range_mm[1]) - min(b.z_range_mm[0], f.z_range_mm[0])
        return max(
            0.0, overlap
        ) / span, f"coverage overlap {max(0.0, overlap):.1f} of {span:.1f} mm"
    return min(len_b, len_f) / max(len_b, len_f), f"coverage {len_b:.1f} vs {len_f:.1f} mm"


def _body_part(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    r_b, r_f = body_regions(b.body_part), body_regions(f.body_part)
    if not r_b or not r_f:
        return None, "body part unknown"
    relation = "=" if r_b == r_f else "vs"
    return len(r_b & r_f) / len(r_b | r_f), f"body part {b.body_part} {relation} {f.body_part}"


def _pixel_spacing(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    if not b.pixel_spacing_mm or not f.pixel_spacing_mm:
        return None, "pixel spacing unknown"
    s_b, s_f = b.pixel_spacing_mm[0], f.pixel_spacing_mm[0]
    if s_b <= 0 or s_f <= 0:
        return None, "pixel spacing unknown"
    return min(s_b, s_f) / max(s_b, s_f), f"pixel spacing {s_b:.3g} vs {s_f:.3g} mm"


def _derivation(b: SeriesDescriptor, f: SeriesDescriptor) -> Feature:
    # Image Type value 1 (PS3.3 C.7.6.1.1.2): ORIGINAL acquisitions vs DERIVED reformats.
    if not b.image_type or not f.image_type:
        return None, "image type unknown"
    d_b, d_f = b.image_type[0].upper(), f.image_type[0].upper()
    relation = "=" if d_b == d_f else "vs"
    return (1.0 if d_b == d_f else 0.0), f"image type {d_b} {relation} {d_f}"
