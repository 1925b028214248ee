"""Synthetic series read back by SimpleITK/GDCM: geometry and lesions where we put them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imaging.synthetic import demo_patient, generate_study, write_study
from imaging.volume import VolumeError, read_series


def test_thin_series_reads_as_a_volume_with_its_lesions(tmp_path: Path) -> None:
    demo = demo_patient(matrix=128, thin_slice_count=210)
    spec = demo.baseline
    datasets = generate_study(spec, seed=3)
    paths = write_study(datasets, tmp_path)
    thin = spec.series_by_key("lung_thin")
    folder = {p.parent for p, ds in zip(paths, datasets, strict=True)
              if int(ds.SeriesNumber) == thin.series_number}
    files = sorted(next(iter(folder)).glob("*.dcm"))
    volume = read_series(files)
    assert volume.voxels.shape == (210, 128, 128)
    assert volume.spacing_mm[2] == pytest.approx(thin.slice_spacing_mm)
    assert volume.spacing_mm[0] == pytest.approx(spec.pixel_spacing_mm)
    for lesion in spec.lesions:
        centre = spec.lesion_center_patient_mm(lesion.label)
        sl, row, col = volume.index_of(centre)
        # HU at the centre of each lesion is the lesion's (~50 HU, noise aside), read by an
        # independent DICOM reader: geometry and rescale written by the generator agree.
        assert abs(float(volume.voxels[sl, row, col]) - lesion.hu) < 40
        # The run of lesion-like voxels through the centre along the row: its width.
        like = np.abs(volume.voxels[sl, row, :] - lesion.hu) < 40
        left = right = col
        while left > 0 and like[left - 1]:
            left -= 1
        while right < like.size - 1 and like[right + 1]:
            right += 1
        width_mm = (right - left + 1) * volume.spacing_mm[0]
        assert width_mm == pytest.approx(lesion.diameter_mm, abs=2 * volume.spacing_mm[0])


def test_unreadable_series_is_a_volume_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.dcm"
    bad.write_bytes(b"not dicom")
    with pytest.raises(VolumeError):
        read_series([bad])
    with pytest.raises(VolumeError):
        read_series([])
