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
3. Euler 3D transform, optimised level by level on a pyramid of block averages (4, 2 and
   1 voxels per side, so ~12, 6 and 3 mm), random sampling of 8,000, 5,000 and 3,000
   body voxels.
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

from imaging.errors import ImagingError
from imaging.rigid import Matrix, Plausibility, about_centre, check_plausible
from imaging.volume import Volume, body_only


class _OnFirstUse:
    """SimpleITK, imported when a registration first needs it: the library holds about
    90 MB that a service which never registers (or has not yet) need not carry."""

    def __getattr__(self, name: str) -> Any:
        import SimpleITK

        globals()["sitk"] = SimpleITK
        return getattr(SimpleITK, name)


# SimpleITK ships no type information: its objects are Any here, and only here.
sitk: Any = _OnFirstUse()

#: An affine refinement is kept only when it improves the metric by this fraction.
AFFINE_MIN_GAIN = 0.02


class RegistrationError(ImagingError):
    """SimpleITK could not register the two volumes (its RuntimeError, translated)."""


@dataclass(frozen=True)
class RegistrationSettings:
    shrink_factors: tuple[int, ...] = (4, 2, 1)  # the pyramid: blocks of 4^3, 2^3, 1 voxels
    # Random samples of body voxels per level (coarsest first): the finest level's cost
    # grows with them, and by then the optimiser only polishes.
    samples_per_level: tuple[int, ...] = (8_000, 5_000, 3_000)
    evaluation_samples: int = 16_000
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


@dataclass(frozen=True)
class _Level:
    fixed: Any
    moving: Any
    mask: Any
    mask_voxels: int


def _pyramid(fixed: Any, moving: Any, mask: Any, factors: tuple[int, ...]) -> list[_Level]:
    """Each level's images as block averages (``BinShrink``), made once.

    The same anti-aliased pyramid that ImageRegistrationMethod builds with its shrink
    factors and Gaussian smoothing, without smoothing the full volumes again for every
    level and every search (that was half the registration's time).
    """
    levels = []
    for factor in factors:
        if factor == 1:
            f, m, k = fixed, moving, mask
        else:
            f = sitk.BinShrink(fixed, [factor] * 3)
            m = sitk.BinShrink(moving, [factor] * 3)
            k = sitk.BinShrink(sitk.Cast(mask, sitk.sitkFloat32), [factor] * 3) > 0.5
        count = int(np.count_nonzero(sitk.GetArrayViewFromImage(k)))
        levels.append(_Level(f, m, k, max(1, count)))
    return levels


def _method(settings: RegistrationSettings, level: _Level, samples: int, *,
            seed: int | None = None) -> Any:
    """A one-level registration of ``level`` with random sampling of its body voxels."""
    method = sitk.ImageRegistrationMethod()
    method.SetNumberOfThreads(_threads(settings))
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(min(1.0, samples / level.mask_voxels),
                                       settings.seed if seed is None else seed)
    method.SetMetricFixedMask(level.mask)
    # Gradients at the sample points only: computing gradient images of both volumes at
    # every level cost more than the optimisation itself.
    method.MetricUseFixedImageGradientFilterOff()
    method.MetricUseMovingImageGradientFilterOff()
    method.SetInterpolator(sitk.sitkLinear)
    return method


def _descend(settings: RegistrationSettings, level: _Level, samples: int, transform: Any,
             learning_rate: float) -> int:
    """Regular-step gradient descent of ``transform`` (in place) on one level."""
    method = _method(settings, level, samples)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=learning_rate, minStep=settings.min_step,
        numberOfIterations=settings.iterations, relaxationFactor=0.5)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetInitialTransform(transform, inPlace=True)
    method.Execute(level.fixed, level.moving)
    return int(method.GetOptimizerIteration())


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
    levels = _pyramid(fixed, to_image(moving_volume), _mask_image(fixed_mask, fixed),
                      settings.shrink_factors)
    initial = sitk.Euler3DTransform()
    fixed_centre = geometric_centre(fixed_volume, fixed_mask)
    initial.SetCenter(fixed_centre)
    initial.SetTranslation(tuple(float(m - f) for m, f in zip(
        geometric_centre(moving_volume, moving_mask), fixed_centre, strict=True)))
    initial = _search_long_axis(levels[0], initial, settings)

    iterations = 0
    for level, samples in zip(levels, settings.samples_per_level, strict=True):
        iterations += _descend(settings, level, samples, initial, settings.learning_rate)
    metric = _evaluate(settings, levels[-1], initial)
    matrix = _matrix_of(initial)
    if not settings.affine:
        return matrix, metric, "rigid", iterations

    affine = sitk.AffineTransform(3)
    affine.SetCenter(initial.GetCenter())
    affine.SetMatrix(initial.GetMatrix())
    affine.SetTranslation(initial.GetTranslation())
    refined_iterations = 0
    for level, samples in list(zip(levels, settings.samples_per_level, strict=True))[-2:]:
        refined_iterations += _descend(settings, level, samples, affine,
                                       settings.learning_rate / 4)
    refined_metric = _evaluate(settings, levels[-1], affine)
    refined = _matrix_of(affine)
    # Both metrics on the same held-out samples; lower is better. "Measurably" = by
    # AFFINE_MIN_GAIN of the rigid metric's size, and the result must stay near-rigid.
    if refined_metric < metric - AFFINE_MIN_GAIN * abs(metric) and \
            check_plausible(refined, fixed_volume.centre, refined_metric, 1.0).plausible:
        return refined, refined_metric, "rigid+affine", iterations + refined_iterations
    return matrix, metric, "rigid", iterations


def _evaluate(settings: RegistrationSettings, level: _Level, transform: Any) -> float:
    """The metric of a transform at full resolution, on samples the optimiser did not use."""
    method = _method(settings, level, settings.evaluation_samples, seed=settings.seed + 1)
    method.SetInitialTransform(transform, inPlace=False)
    return float(method.MetricEvaluate(level.fixed, level.moving))


def _search_long_axis(level: _Level, initial: Any, settings: RegistrationSettings) -> Any:
    """Try shifts along the patient's long axis (z) at the coarsest level; keep the best."""
    steps = int(settings.z_search_mm // settings.z_search_step_mm)
    if steps == 0:
        return initial
    search = _method(settings, level, settings.samples_per_level[0])
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
    search.Execute(level.fixed, level.moving)
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
