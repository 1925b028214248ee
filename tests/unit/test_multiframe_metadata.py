"""Multi-frame objects read from Orthanc's simplified tags (PS3.3 C.7.6.16 functional groups).

The headers are those of a real highdicom conversion (Legacy Converted Enhanced CT) of
four synthetic CT slices, turned into Orthanc's simplified JSON (keyword -> value,
sequences as lists of objects, numbers as backslash-joined strings) by
:func:`simplified`; plus small hand-made tables for the layering rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue

from api.adapters.registration_store import _slices
from api.workflow.ports import IndexedSlice
from pacs.metadata import (
    build_series_record,
    frame_count,
    frame_records,
    frame_tags,
    image_plane,
    pixel_geometry,
)
from pacs.voxels import PixelLayout
from tests.multiframe_data import enhanced_ct, frame_of

SPACING = 0.7
Z = [-40.0, -37.5, -35.0, -32.5]  # given out of order below: the conversion sorts them


def _slice(k: int, z: float) -> Dataset:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3.4", "1.2.3.4.5"
    ds.FrameOfReferenceUID = "1.2.3.4.6"
    ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = "P1", "A^B", "", "O"
    ds.StudyDate, ds.StudyTime, ds.SeriesDate, ds.ContentDate = "20240101", "1200", "", ""
    ds.ContentTime, ds.AccessionNumber, ds.StudyID = "120000", "A1", "1"
    ds.ReferringPhysicianName, ds.Manufacturer = "", "Nadir"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 2, k + 1
    ds.BodyPartExamined, ds.ConvolutionKernel, ds.SliceThickness = "CHEST", "LUNG", 2.5
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [-10.0, -20.0, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [SPACING, SPACING]
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.KVP, ds.AcquisitionNumber = 120, 1
    ds.PixelData = np.full((8, 8), k, dtype=np.uint16).tobytes()
    return ds


def simplified(ds: Dataset) -> dict[str, Any]:
    """A dataset as Orthanc's ``/simplified-tags`` shows it."""
    out: dict[str, Any] = {}
    for element in ds:
        if not isinstance(element, DataElement) or not element.keyword \
                or element.keyword == "PixelData":
            continue
        if element.VR == "SQ":
            out[element.keyword] = [simplified(item) for item in element.value]
        elif isinstance(element.value, (list, MultiValue)):
            out[element.keyword] = "\\".join(str(v) for v in element.value)
        else:
            out[element.keyword] = str(element.value)
    return out


@pytest.fixture(scope="module")
def converted() -> tuple[Dataset, list[Dataset]]:
    slices = [_slice(k, z) for k, z in zip([2, 0, 3, 1], [Z[2], Z[0], Z[3], Z[1]], strict=True)]
    return enhanced_ct(slices, series_number=102), slices


def test_frames_take_their_position_from_their_own_functional_group(
        converted: tuple[Dataset, list[Dataset]]) -> None:
    enhanced, slices = converted
    tags = simplified(enhanced)
    assert "ImagePositionPatient" not in tags and frame_count(tags) == 4
    for ds in slices:
        frame = frame_of(enhanced, str(ds.SOPInstanceUID))
        flat = frame_tags(tags, frame)
        assert [float(v) for v in flat["ImagePositionPatient"].split("\\")] == \
            [float(v) for v in ds.ImagePositionPatient]
        plane = image_plane(tags, frame)
        assert plane is not None and plane.position == pytest.approx(
            [float(v) for v in ds.ImagePositionPatient])
        geometry = pixel_geometry(tags, frame)
        assert geometry.pixel_spacing == (SPACING, SPACING) and geometry.frames == 4
        assert (geometry.rows, geometry.columns) == (8, 8)
    records = frame_records(tags)
    assert [r.frame for r in records] == [1, 2, 3, 4]
    assert sorted(r.position_mm or 0 for r in records) == pytest.approx(Z)
    # The shared Pixel Value Transformation gives the rescale a volume is read with.
    layout = PixelLayout.of(frame_tags(tags, 2), "1.2.840.10008.1.2.1")
    assert (layout.slope, layout.intercept, layout.frame_bytes) == (1.0, -1024.0, 128)


def test_a_converted_series_is_described_as_its_single_frame_slices(
        converted: tuple[Dataset, list[Dataset]]) -> None:
    enhanced, slices = converted
    header = simplified(enhanced)
    main = {k: header[k] for k in ("SOPInstanceUID", "InstanceNumber", "NumberOfFrames")}
    series = {"ID": "s1", "MainDicomTags": {"SeriesInstanceUID": "1.2.3.4.9", "Modality": "CT",
                                            "SeriesNumber": "102"}}
    study = {"ID": "st1", "MainDicomTags": {"StudyInstanceUID": "1.2.3.4",
                                            "StudyDate": "20240101"},
             "PatientMainDicomTags": {"PatientID": "P1"}}
    record = build_series_record(series, study, [{"ID": "i1", "MainDicomTags": main}], header,
                                 multi_frame_headers={"i1": header})
    d = record.series
    assert d.z_range_mm == pytest.approx((Z[0], Z[-1]))
    assert d.pixel_spacing_mm == (SPACING, SPACING) and d.slice_thickness_mm == 2.5
    assert d.orientation == (1, 0, 0, 0, 1, 0) and d.convolution_kernel == "LUNG"
    assert d.body_part and "chest" in d.body_part.lower()  # Frame Anatomy's region
    [instance] = record.instances
    assert [f.frame for f in instance.frames] == [1, 2, 3, 4]
    assert instance.position_mm == instance.frames[0].position_mm


@pytest.mark.parametrize(("tags", "frame", "expected"), [
    # No functional groups: a single-frame image's tags as they are.
    ({"PixelSpacing": "1\\1", "Rows": "4"}, 1, {"PixelSpacing": "1\\1", "Rows": "4"}),
    # Shared groups over the top level, the frame's own groups over the shared ones.
    ({"Rows": "4", "WindowCenter": "40",
      "SharedFunctionalGroupsSequence": [{"FrameVOILUTSequence": [{"WindowCenter": "50"}],
                                          "PixelMeasuresSequence": [{"PixelSpacing": "2\\2"}]}],
      "PerFrameFunctionalGroupsSequence": [
          {"FrameVOILUTSequence": [{"WindowCenter": "60"}]},
          {"PlanePositionSequence": [{"ImagePositionPatient": "0\\0\\5"}]}]},
     2, {"Rows": "4", "WindowCenter": "50", "PixelSpacing": "2\\2",
         "ImagePositionPatient": "0\\0\\5"}),
    ({"SharedFunctionalGroupsSequence": [{"FrameVOILUTSequence": [{"WindowCenter": "50"}]}],
      "PerFrameFunctionalGroupsSequence": [{"FrameVOILUTSequence": [{"WindowCenter": "60"}]}]},
     1, {"WindowCenter": "60"}),
    # A frame beyond the per-frame groups gets the shared ones only; empty items are skipped.
    ({"SharedFunctionalGroupsSequence": [{"PixelMeasuresSequence": []}],
      "PerFrameFunctionalGroupsSequence": [{"FrameVOILUTSequence": [{"WindowCenter": "60"}]}]},
     3, {}),
])
def test_frame_tags_lay_the_frames_groups_over_the_shared_ones(
        tags: dict[str, Any], frame: int, expected: dict[str, Any]) -> None:
    assert frame_tags(tags, frame) == expected


def test_an_indexed_multi_frame_instance_is_one_slice_per_frame() -> None:
    frames = [{"frame": 1, "position_mm": -5.0, "image_position": [0, 0, -5.0]},
              {"frame": 2, "position_mm": None, "image_position": None},
              {"frame": 3, "position_mm": 5.0, "image_position": [0, 0, 5.0]}]
    assert _slices("1.2.3", "o1", -5.0, frames) == [IndexedSlice("1.2.3", "o1", -5.0, 1),
                                                    IndexedSlice("1.2.3", "o1", 5.0, 3)]
    assert _slices("1.2.4", "o2", 2.5, None) == [IndexedSlice("1.2.4", "o2", 2.5)]
    assert _slices("1.2.5", "o3", None, None) == []
