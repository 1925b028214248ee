"""The pure parts of registration: transform maths, plausibility, image planes, volumes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imaging import rigid
from imaging.geometry import ImagePlane, caliper_midpoint, nearest_slice
from imaging.volume import (
    Volume,
    VolumeError,
    assemble,
    block_mean,
    body_only,
    downsample_factor,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


# -- transforms --------------------------------------------------------------------------


def test_euler_rotation_is_a_rotation_about_each_axis_in_order() -> None:
    r = rigid.euler_rotation((0.0, 0.0, 90.0))
    assert np.allclose(r @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    r = rigid.euler_rotation((3.0, -4.0, 5.0))
    assert np.allclose(r @ r.T, np.eye(3)) and math.isclose(np.linalg.det(r), 1.0)
    # x first, then y, then z.
    assert np.allclose(r, rigid.euler_rotation((0, 0, 5)) @ rigid.euler_rotation((0, -4, 0))
                       @ rigid.euler_rotation((3, 0, 0)))
    with pytest.raises(rigid.TransformError):
        rigid.euler_rotation((1.0, 2.0))


def test_about_centre_keeps_the_centre_fixed_up_to_the_translation() -> None:
    r = rigid.euler_rotation((0.0, 0.0, 30.0))
    m = rigid.about_centre(r, (10.0, 20.0, 30.0), (1.0, 2.0, 3.0))
    assert np.allclose(rigid.apply(m, (10.0, 20.0, 30.0)), (11.0, 22.0, 33.0))
    assert math.isclose(rigid.rotation_angle_deg(m), 30.0)
    assert math.isclose(rigid.displacement_mm(m, (10.0, 20.0, 30.0)), math.sqrt(14))
    back = rigid.compose(rigid.inverse(m), m)
    assert np.allclose(back, np.eye(4))


def test_rows_round_trip_and_bad_matrices_are_refused() -> None:
    m = rigid.homogeneous(rigid.euler_rotation((1.0, 2.0, 3.0)), (4.0, 5.0, 6.0))
    assert np.allclose(rigid.as_matrix(rigid.as_rows(m)), m, atol=1e-6)
    for bad in ([[1.0, 0.0], [0.0, 1.0]], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]],
                [[0.0] * 4] * 3 + [[0.0, 0.0, 0.0, 1.0]],
                [[math.nan, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]):
        with pytest.raises(rigid.TransformError):
            rigid.as_matrix(bad)


def test_plausibility_names_every_reason() -> None:
    centre = (0.0, 0.0, -200.0)
    ok = rigid.check_plausible(rigid.homogeneous(rigid.euler_rotation((5, 5, 5)), (40, 40, 40)),
                               centre, metric=-1.2, overlap=0.9)
    assert ok.plausible and ok.rotation_deg < 15 and ok.translation_mm < 150
    turned = rigid.check_plausible(rigid.homogeneous(rigid.euler_rotation((0, 0, 20)),
                                                     (0, 0, 0)), centre, -1.2, 0.9)
    assert not turned.plausible and "rotation 20.0 degrees" in (turned.reason or "")
    shifted = rigid.check_plausible(rigid.homogeneous(np.eye(3), (0, 0, 151)), centre, -1.2, 0.9)
    assert "translation 151.0 mm" in (shifted.reason or "")
    # The translation is the displacement of the anatomy at the centre, not of the origin:
    # a 10 degree turn about a centre 1 m away moves the origin far, the anatomy not.
    far = rigid.about_centre(rigid.euler_rotation((0, 0, 10)), centre, (0, 0, 0))
    assert rigid.check_plausible(far, centre, -1.2, 0.9).plausible
    weak = rigid.check_plausible(np.eye(4), centre, metric=-0.1, overlap=0.9)
    assert "metric -0.100" in (weak.reason or "")
    apart = rigid.check_plausible(np.eye(4), centre, metric=-1.0, overlap=0.1)
    assert "overlaps" in (apart.reason or "")
    scaled = rigid.check_plausible(rigid.homogeneous(np.diag([1.2, 1, 1]), (0, 0, 0)), centre,
                                   -1.0, 0.9)
    assert "scale or shear" in (scaled.reason or "")
    nan = rigid.check_plausible(np.full((4, 4), math.nan), centre, -1.0, 0.9)
    assert not nan.plausible


# -- image planes and slices -------------------------------------------------------------


def test_image_plane_maps_calipers_to_patient_space_and_back() -> None:
    plane = ImagePlane((-100.0, -50.0, 20.0), AXIAL, (0.5, 0.8), 64, 64)
    # The centre of the first pixel is (0.5, 0.5) in caliper coordinates.
    assert plane.to_patient(0.5, 0.5) == (-100.0, -50.0, 20.0)
    # Row spacing (first) moves along the column direction (y); column spacing along x.
    assert np.allclose(plane.to_patient(10.5, 20.5), (-100.0 + 20 * 0.8, -50.0 + 10 * 0.5, 20.0))
    row, col, dist = plane.to_image((-90.0, -45.0, 23.0))
    assert np.allclose((row, col, dist), (10.5, 13.0, 3.0))
    oblique = ImagePlane((1.0, 2.0, 3.0), (0.0, 1.0, 0.0, 0.6, 0.0, -0.8), (0.7, 0.9), 10, 10)
    p = oblique.to_patient(3.25, 7.75)
    assert np.allclose(oblique.to_image(p), (3.25, 7.75, 0.0))
    assert plane.contains(64, 0) and not plane.contains(64.1, 3)
    assert caliper_midpoint((10, 2), (20, 62)) == (15.0, 32.0)


def test_nearest_slice_is_picked_along_the_normal() -> None:
    slices = [("a", -10.0), ("b", -5.0), ("c", 0.0)]
    assert nearest_slice(slices, AXIAL, (99.0, 99.0, -6.0)) == ("b", -1.0)
    assert nearest_slice(slices, AXIAL, (0.0, 0.0, 7.0)) == ("c", 7.0)  # beyond the range
    coronal = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)  # normal (0, 1, 0): positions are y
    assert nearest_slice(slices, coronal, (0.0, -4.0, -50.0)) == ("b", 1.0)


# -- volumes -----------------------------------------------------------------------------


def test_block_mean_averages_blocks_and_cuts_the_remainder() -> None:
    image = np.arange(8 * 10, dtype=np.float32).reshape(8, 10)
    out = block_mean(image, 4)
    assert out.shape == (2, 2)
    assert np.allclose(out, image[:8, :8].reshape(2, 4, 2, 4).mean(axis=(1, 3)))
    assert block_mean(image, 1) is not None and downsample_factor(0.742) == 4
    assert downsample_factor(1.25) == 2 and downsample_factor(5.0) == 1


def test_assemble_places_block_centres_and_averages_thin_slices() -> None:
    slices = [np.full((4, 4), float(k), np.float32) for k in range(6)]
    positions = [-2.5 + 1.25 * k for k in range(6)]
    vol = assemble(slices[::-1], positions[::-1], (-10.0, -20.0, -2.5), AXIAL, (0.75, 0.75), 4)
    assert vol.voxels.shape == (3, 4, 4)
    assert np.allclose(vol.voxels[:, 0, 0], [0.5, 2.5, 4.5])  # pairs of 1.25 mm slices
    assert vol.spacing == (3.0, 3.0, 2.5)
    # Block of 4 pixels: its centre is 1.5 pixels from the first pixel's centre.
    assert np.allclose(vol.origin, (-10.0 + 1.125, -20.0 + 1.125, -2.5 + 0.625))
    assert np.allclose(vol.index_to_patient((0, 0, 1)), (-8.875, -18.875, 0.625))
    assert np.allclose(vol.patient_to_index(vol.index_to_patient((1.5, 2, 0.5))), (1.5, 2, 0.5))


def test_assemble_resamples_gaps_and_drops_repeated_positions() -> None:
    slices = [np.full((2, 2), z, np.float32) for z in (0.0, 5.0, 5.0, 10.0, 20.0)]
    vol = assemble(slices, [0.0, 5.0, 5.0, 10.0, 20.0], (0, 0, 0), AXIAL, (1.0, 1.0), 1,
                   target_mm=5.0)
    # Median spacing 5 mm; the gap from 10 to 20 is filled by interpolation.
    assert np.allclose(vol.voxels[:, 0, 0], [0.0, 5.0, 10.0, 15.0, 20.0])
    with pytest.raises(VolumeError):
        assemble(slices[:1], [0.0], (0, 0, 0), AXIAL, (1.0, 1.0), 1)
    with pytest.raises(VolumeError):
        assemble(slices[1:3], [5.0, 5.0], (0, 0, 0), AXIAL, (1.0, 1.0), 1)


def test_body_only_removes_the_table() -> None:
    voxels = np.full((4, 20, 20), -1000.0, np.float32)
    voxels[:, 4:12, 4:16] = 40.0  # body
    voxels[:, 6:8, 8:10] = -1000.0  # air inside the body (a bronchus)
    voxels[:, 15:17, 2:18] = 250.0  # table shell, below a gap of air
    vol, mask = body_only(Volume(voxels, (0, 0, 0), (1, 1, 1), AXIAL))
    assert mask[0, 8, 8] and mask[0, 6, 8] and not mask[0, 16, 8]
    assert vol.voxels[0, 16, 8] == -1000.0 and vol.voxels[0, 8, 8] == 40.0
    mr, every = body_only(Volume(voxels, (0, 0, 0), (1, 1, 1), AXIAL, modality="MR"))
    assert every.all() and mr.voxels is voxels
