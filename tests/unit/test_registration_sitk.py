"""The SimpleITK adapter on small synthetic pairs: accuracy, plausibility, its errors."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pytest
from pydicom import Dataset

from imaging import rigid
from imaging.registration import RegistrationError, RegistrationSettings, register
from imaging.volume import Volume, assemble, block_mean, downsample_factor
from synthetic import StudySpec, demo_patient, generate_study, without_series

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def volume_of(datasets: Sequence[Dataset]) -> Volume:
    """The same assembly as pacs.voxels, from in-memory datasets."""
    spacing = tuple(float(v) for v in datasets[0].PixelSpacing)
    factor = downsample_factor(spacing[1])
    slices = [block_mean(d.pixel_array.astype(np.float32) + float(d.RescaleIntercept), factor)
              for d in datasets]
    positions = [float(d.ImagePositionPatient[2]) for d in datasets]
    first = min(datasets, key=lambda d: float(d.ImagePositionPatient[2]))
    return assemble(slices, positions, [float(v) for v in first.ImagePositionPatient], AXIAL,
                    (spacing[0], spacing[1]), factor)


def soft_series(spec: StudySpec, seed: int) -> list[Dataset]:
    only = without_series(spec, "scout", "dose_report", "lung_thin")
    return generate_study(only, seed=seed)


def test_turned_and_shifted_follow_up_with_a_shorter_range_is_found() -> None:
    demo = demo_patient(matrix=128, thin_slice_count=300)
    baseline = demo.baseline
    followup = dataclasses.replace(
        demo.followup, body_rotation_deg=(-3.0, 4.0, -5.0), lateral_offset_mm=-35.0,
        table_height_mm=150.0 + 25.0, table_position_mm=-150.0 + 38.0,
        scan_top_mm=0.0, scan_length_mm=260.0)
    result = register(volume_of(soft_series(baseline, 1)), volume_of(soft_series(followup, 2)))
    assert result.plausibility.plausible, result.reason
    assert result.method == "rigid" and result.metric < -0.5 and result.overlap > 0.5
    errors = [math.dist(rigid.apply(result.matrix, baseline.lesion_center_patient_mm(les.label)),
                        followup.lesion_center_patient_mm(les.label))
              for les in baseline.lesions]
    assert max(errors) < 3.0, errors
    truth = rigid.compose(followup.body_to_patient, rigid.inverse(baseline.body_to_patient))
    assert abs(result.plausibility.rotation_deg - rigid.rotation_angle_deg(truth)) < 0.5


def test_an_affine_step_is_kept_only_where_it_measurably_helps() -> None:
    demo = demo_patient(matrix=64, thin_slice_count=300)
    followup = dataclasses.replace(demo.followup, body_rotation_deg=(0.0, 0.0, 3.0))
    fixed = volume_of(soft_series(demo.baseline, 1))
    moving = volume_of(soft_series(followup, 2))
    settings = RegistrationSettings(affine=True)
    rigid_pair = register(fixed, moving, settings)
    assert rigid_pair.method == "rigid" and rigid.shape_change(rigid_pair.matrix) < 1e-9
    # The follow-up's pixel spacing off by 4 % (a calibration error): a rigid transform
    # cannot map it, an affine one can.
    k = 1.04
    ox, oy, oz = moving.origin
    sx, sy, sz = moving.spacing
    scaled = Volume(moving.voxels, (ox * k, oy * k, oz * k), (sx * k, sy * k, sz * k),
                    moving.orientation)
    result = register(fixed, scaled, settings)
    assert result.method == "rigid+affine" and 0.02 < rigid.shape_change(result.matrix) < 0.06
    errors = [math.dist(rigid.apply(result.matrix, demo.baseline.lesion_center_patient_mm(label)),
                        tuple(v * k for v in followup.lesion_center_patient_mm(label)))
              for label in (les.label for les in demo.baseline.lesions)]
    assert max(errors) < 2.0, errors


def test_simpleitk_errors_become_registration_errors() -> None:
    tiny = Volume(np.zeros((2, 2, 2), np.float32), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), AXIAL)
    with pytest.raises(RegistrationError, match="SimpleITK registration failed"):
        register(tiny, tiny)


def test_images_without_common_content_are_never_passed_as_done() -> None:
    rng = np.random.default_rng(1)
    body = np.full((30, 40, 40), -1000.0, np.float32)
    body[:, 5:35, 5:35] = rng.normal(40.0, 200.0, (30, 30, 30))
    noise = rng.normal(0.0, 300.0, (30, 40, 40)).astype(np.float32)
    fixed = Volume(body, (0.0, 0.0, 0.0), (3.0, 3.0, 3.0), AXIAL)
    moving = Volume(noise, (0.0, 0.0, 0.0), (3.0, 3.0, 3.0), AXIAL)
    try:
        result = register(fixed, moving)
    except RegistrationError:
        return
    assert not result.plausibility.plausible
