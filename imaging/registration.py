"""Rigid registration of a baseline and a follow-up volume with SimpleITK.

The one module of Nadir that uses SimpleITK; its RuntimeError becomes
:class:`RegistrationError`. The method follows the SimpleITK registration notebooks
(ImageRegistrationMethod with Mattes mutual information, a regular-step gradient
descent, a 3-level pyramid) on volumes already averaged to about 3 mm
(:mod:`imaging.volume`), with the table removed:

1. The follow-up's geometric centre is put on the baseline's: the centre of the body's
   bounding box (:func:`geometric_centre`), which is the scan's centre along the body and
   the body's centre across it, wherever the table and the field of view are.
2. Follow-ups often cover a shorter range than the baseline, which moves the centre of
   the scan but not the anatomy; a coarse search of shifts along the patient's long axis
   (exhaustive optimiser, 15 mm steps) picks the start that shares most information.
3. Euler 3D transform, shrink factors 4, 2, 1 with smoothing 2, 1, 0 voxels, random
   sampling of about 8,000 body voxels per level.
4. Optionally an affine refinement at the two finest levels, kept only when it lowers the
   metric by at least :data:`AFFINE_MIN_GAIN` and stays near-rigid.

The result maps a baseline patient point to the follow-up patient point of the same
anatomy (ITK's fixed-to-moving convention, with baseline fixed). It is checked with
:func:`imaging.rigid.check_plausible`; an implausible one is returned with its reason,
never silently.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import SimpleITK as _sitk

from imaging.errors import ImagingError
from imaging.rigid import Matrix, Plausibility, about_centre, check_plausible
from imaging.volume import Volume, body_only

# SimpleITK ships no type information: its objects are Any here, and only here.
sitk: Any = _sitk

#: An affine refinement is kept only when it improves the metric by this fraction.
AFFINE_MIN_GAIN = 0.02


class RegistrationError(ImagingError):
    """SimpleITK could not register the two volumes (its RuntimeError, translated)."""


@dataclass(frozen=True)
class RegistrationSettings:
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas: tuple[float, ...] = (2.0, 1.0, 0.0)  # voxels
    samples_per_level: int = 8_000
    histogram_bins: int = 32
    iterations: int = 200
    learning_rate: float = 2.0
    min_step: float = 0.01
    z_search_mm: float = 105.0  # coarse search of long-axis shifts, +- this
    z_search_step_mm: float = 15.0
    affine: bool = False
    threads: int = 0  # 0: as many as the machine has cores, at most 2
    seed: int = 20_261_127


@dataclass(frozen=True)
class RegistrationResult:
    matrix: Matrix  # 4 x 4, baseline patient mm -> follow-up patient mm
    metric: float  # Mattes mutual information, held-out samples (negative; lower is better)
    method: str  # "rigid" or "rigid+affine"
    plausibility: Plausibility
    overlap: float  # fraction of the baseline body that lands in the follow-up volume
    elapsed_s: float
    iterations: int

    @property
    def reason(self) -> str | None:
        return self.plausibility.reason


def register(baseline: Volume, followup: Volume,
             settings: RegistrationSettings | None = None) -> RegistrationResult:
    """Register ``followup`` onto ``baseline`` and check the result (see module doc)."""
    settings = settings or RegistrationSettings()
    started = time.perf_counter()
    fixed_volume, fixed_mask = body_only(baseline)
    moving_volume, moving_mask = body_only(followup)
    try:
        result = _register(fixed_volume, fixed_mask, moving_volume, moving_mask, settings)
    except RuntimeError as exc:
        # SimpleITK's messages name its source files and the failed check, never pixels.
        raise RegistrationError(f"SimpleITK registration failed: {_first_line(exc)}") from None
    matrix, metric, method, iterations = result
    overlap = body_overlap(matrix, fixed_volume, fixed_mask, moving_volume)
    plausibility = check_plausible(matrix, baseline.centre, metric, overlap)
    return RegistrationResult(matrix, metric, method, plausibility, overlap,
                              time.perf_counter() - started, iterations)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def to_image(volume: Volume) -> Any:
    image = sitk.GetImageFromArray(np.ascontiguousarray(volume.voxels, dtype=np.float32))
    image.SetOrigin(volume.origin)
    image.SetSpacing(volume.spacing)
    image.SetDirection(tuple(float(v) for v in volume.direction.ravel()))
    return image


def _mask_image(mask: npt.NDArray[np.bool_], like: Any) -> Any:
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.CopyInformation(like)
    return image


def _threads(settings: RegistrationSettings) -> int:
    return settings.threads or max(1, min(2, os.cpu_count() or 1))


def _method(settings: RegistrationSettings, fixed: Any, mask: Any,
            shrink: tuple[int, ...], sigmas: tuple[float, ...], *, seed: int | None = None,
            samples: int | None = None) -> Any:
    method = sitk.ImageRegistrationMethod()
    method.SetNumberOfThreads(_threads(settings))
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    voxels = max(1, int(np.count_nonzero(sitk.GetArrayViewFromImage(mask))))
    count = samples or settings.samples_per_level
    method.SetMetricSamplingPercentagePerLevel(
        [min(1.0, count * f**3 / voxels) for f in shrink],
        settings.seed if seed is None else seed)
    method.SetMetricFixedMask(mask)
    # Gradients at the sample points only: computing gradient images of both volumes at
    # every level cost more than the optimisation itself.
    method.MetricUseFixedImageGradientFilterOff()
    method.MetricUseMovingImageGradientFilterOff()
    method.SetInterpolator(sitk.sitkLinear)
    method.SetShrinkFactorsPerLevel(list(shrink))
    method.SetSmoothingSigmasPerLevel(list(sigmas))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    return method


def geometric_centre(volume: Volume, mask: npt.NDArray[np.bool_]) -> tuple[float, float, float]:
    """Centre of the bounding box of the body (of the whole volume when it is empty).

    Along the slices the body fills the scan, so this is the scan's centre there; across
    them it follows the body, not the reconstruction's field of view, which stays centred
    on the table when the patient lies off-centre or the table is raised.
    """
    size = np.array(mask.shape[::-1], dtype=np.float64)  # (column, row, slice)
    low, high = np.zeros(3), size - 1.0
    if mask.any():
        for axis, index_axis in ((0, 2), (1, 1), (2, 0)):  # numpy axes are (slice, row, col)
            others = tuple(a for a in range(3) if a != index_axis)
            present = np.nonzero(mask.any(axis=others))[0]
            low[axis], high[axis] = float(present[0]), float(present[-1])
    c = volume.index_to_patient((low + high) / 2.0)
    return (float(c[0]), float(c[1]), float(c[2]))


def _register(fixed_volume: Volume, fixed_mask: npt.NDArray[np.bool_], moving_volume: Volume,
              moving_mask: npt.NDArray[np.bool_], settings: RegistrationSettings
              ) -> tuple[Matrix, float, str, int]:
    fixed = to_image(fixed_volume)
    moving = to_image(moving_volume)
    mask = _mask_image(fixed_mask, fixed)
    initial = sitk.Euler3DTransform()
    fixed_centre = geometric_centre(fixed_volume, fixed_mask)
    initial.SetCenter(fixed_centre)
    initial.SetTranslation(tuple(float(m - f) for m, f in zip(
        geometric_centre(moving_volume, moving_mask), fixed_centre, strict=True)))
    initial = _search_long_axis(fixed, moving, mask, initial, settings)

    rigid = _method(settings, fixed, mask, settings.shrink_factors, settings.smoothing_sigmas)
    rigid.SetOptimizerAsRegularStepGradientDescent(
        learningRate=settings.learning_rate, minStep=settings.min_step,
        numberOfIterations=settings.iterations, relaxationFactor=0.5)
    rigid.SetOptimizerScalesFromPhysicalShift()
    rigid.SetInitialTransform(initial, inPlace=True)
    rigid.Execute(fixed, moving)
    iterations = int(rigid.GetOptimizerIteration())
    metric = _evaluate(settings, fixed, moving, mask, initial)
    matrix = _matrix_of(initial)
    if not settings.affine:
        return matrix, metric, "rigid", iterations

    affine = sitk.AffineTransform(3)
    affine.SetCenter(initial.GetCenter())
    affine.SetMatrix(initial.GetMatrix())
    affine.SetTranslation(initial.GetTranslation())
    refine = _method(settings, fixed, mask, settings.shrink_factors[-2:],
                     settings.smoothing_sigmas[-2:])
    refine.SetOptimizerAsRegularStepGradientDescent(
        learningRate=settings.learning_rate / 4, minStep=settings.min_step,
        numberOfIterations=settings.iterations, relaxationFactor=0.5)
    refine.SetOptimizerScalesFromPhysicalShift()
    refine.SetInitialTransform(affine, inPlace=True)
    refine.Execute(fixed, moving)
    refined_metric = _evaluate(settings, fixed, moving, mask, affine)
    refined = _matrix_of(affine)
    # Both metrics on the same held-out samples; lower is better. "Measurably" = by
    # AFFINE_MIN_GAIN of the rigid metric's size, and the result must stay near-rigid.
    if refined_metric < metric - AFFINE_MIN_GAIN * abs(metric) and \
            check_plausible(refined, fixed_volume.centre, refined_metric, 1.0).plausible:
        return refined, refined_metric, "rigid+affine", \
            iterations + int(refine.GetOptimizerIteration())
    return matrix, metric, "rigid", iterations


def _evaluate(settings: RegistrationSettings, fixed: Any, moving: Any, mask: Any,
              transform: Any) -> float:
    """The metric of a transform at full resolution, on samples the optimiser did not use."""
    method = _method(settings, fixed, mask, (1,), (0.0,), seed=settings.seed + 1,
                     samples=4 * settings.samples_per_level)
    method.SetInitialTransform(transform, inPlace=False)
    return float(method.MetricEvaluate(fixed, moving))


def _search_long_axis(fixed: Any, moving: Any, mask: Any, initial: Any,
                      settings: RegistrationSettings) -> Any:
    """Try shifts along the patient's long axis (z) at the coarsest level; keep the best."""
    steps = int(settings.z_search_mm // settings.z_search_step_mm)
    if steps == 0:
        return initial
    coarse = (settings.shrink_factors[0],)
    search = _method(settings, fixed, mask, coarse, (settings.smoothing_sigmas[0],))
    # Euler3D parameters: angle x, y, z, translation x, y, z; only z translation varies.
    search.SetOptimizerAsExhaustive([0, 0, 0, 0, 0, steps],
                                    stepLength=settings.z_search_step_mm)
    search.SetOptimizerScales([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    trial = sitk.Euler3DTransform(initial)
    search.SetInitialTransform(trial, inPlace=True)
    best: dict[str, float] = {}

    def record() -> None:
        value = float(search.GetMetricValue())
        if "metric" not in best or value < best["metric"]:
            best["metric"] = value
            best["z"] = float(search.GetOptimizerPosition()[5])

    search.AddCommand(sitk.sitkIterationEvent, record)
    search.Execute(fixed, moving)
    result = sitk.Euler3DTransform(initial)
    if "z" in best:
        t = result.GetTranslation()
        result.SetTranslation((t[0], t[1], best["z"]))
    return result


def _matrix_of(transform: Any) -> Matrix:
    return about_centre(np.array(transform.GetMatrix()).reshape(3, 3), transform.GetCenter(),
                        transform.GetTranslation())


def body_overlap(matrix: Matrix, fixed: Volume, fixed_mask: npt.NDArray[np.bool_],
                 moving: Volume, sample: int = 20_000) -> float:
    """Fraction of the baseline body voxels that the transform puts inside the follow-up."""
    k, j, i = np.nonzero(fixed_mask)
    if len(i) == 0:
        return 0.0
    step = max(1, len(i) // sample)
    index = np.column_stack([i[::step], j[::step], k[::step]]).astype(np.float64)
    points = fixed.index_to_patient(index)
    mapped = points @ matrix[:3, :3].T + matrix[:3, 3]
    continuous = moving.patient_to_index(mapped)
    size = np.array(moving.voxels.shape[::-1], dtype=np.float64)
    inside = np.all((continuous >= -0.5) & (continuous <= size - 0.5), axis=1)
    return float(np.mean(inside)) if math.isfinite(float(np.mean(inside))) else 0.0
