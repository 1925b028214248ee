"""Key-image rendering: decoding, rescale, windowing, orientation letters, calipers, scale bars.

CT slices are generated here with a bright disk of known size and place; rendered PNGs are
decoded with Pillow and compared as arrays, never as bytes.
"""

from __future__ import annotations

import base64
import copy
import io
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    CTImageStorage,
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from imaging.errors import ImagingError
from imaging.render import (
    BONE,
    LIVER,
    LUNG,
    MEDIASTINUM,
    PRESETS,
    EdgeLetters,
    ImageDecodeError,
    KeyImage,
    RenderError,
    VoiFunction,
    Window,
    decode_frame,
    direction_letters,
    orientation_letters,
    png_data_uri,
    render_key_image,
    scale_bar_mm,
    voi_to_8bit,
    window_from_dataset,
)
from imaging.render.draw import CALIPER_RGB, CROP_FRAME_RGB

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)

BACKGROUND_HU = -1000  # air
TISSUE_HU = 40
DISK_HU = 300


# --- factories --------------------------------------------------------------------------


def disk_hu(
    rows: int, cols: int, spacing: tuple[float, float], center_px: tuple[float, float],
    radius_mm: float, *, disk: int = DISK_HU, background: int = BACKGROUND_HU,
) -> npt.NDArray[np.int32]:
    """HU image: background, with a disk round in millimetres (an ellipse in pixels)."""
    row_mm, col_mm = spacing
    rr, cc = np.mgrid[0:rows, 0:cols]
    # Pixel centres are at index + 0.5 in (row, column) edge coordinates.
    dy = (rr + 0.5 - center_px[0]) * row_mm
    dx = (cc + 0.5 - center_px[1]) * col_mm
    image = np.full((rows, cols), background, dtype=np.int32)
    image[dx * dx + dy * dy <= radius_mm * radius_mm] = disk
    return image


def ct_dataset(
    hu: npt.NDArray[np.integer] | Sequence[npt.NDArray[np.integer]], *,
    spacing: tuple[float, float] = (0.7, 0.7), slope: float = 1.0, intercept: float = 0.0,
    orientation: Sequence[float] | None = AXIAL, window: tuple[object, object] | None = None,
    photometric: str = "MONOCHROME2",
) -> Dataset:
    """A CT image storing ``hu`` as (hu - intercept) / slope, signed 16-bit, uncompressed."""
    frames = [np.asarray(hu)] if np.asarray(hu[0]).ndim == 1 else [np.asarray(f) for f in hu]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = frames[0].shape
    ds.PixelSpacing = list(spacing)
    if orientation is not None:
        ds.ImageOrientationPatient = list(orientation)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    stored = [(f - intercept) / slope for f in frames]
    for f in stored:
        assert np.array_equal(f, np.round(f)), "HU must be representable with this rescale"
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.PixelData = np.stack(stored).astype("<i2").tobytes()
    return ds


def standard_slice(
    size: int = 128, spacing: tuple[float, float] = (0.7, 0.7),
    center_px: tuple[float, float] = (64.0, 64.0), radius_mm: float = 10.0, **kw: object,
) -> tuple[Dataset, npt.NDArray[np.int32]]:
    hu = disk_hu(size, size, spacing, center_px, radius_mm)
    return ct_dataset(hu, spacing=spacing, **kw), hu  # type: ignore[arg-type]


def decoded(png: bytes) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def is_caliper(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels of the caliper colour: no grey level of the image is yellow."""
    diff = np.abs(rgb.astype(int) - np.array(CALIPER_RGB)).max(axis=-1)
    return np.asarray(diff <= 40, dtype=np.bool_)


# --- decode_frame: rescale, Modality LUT, multi-frame ------------------------------------


def test_decode_returns_hu_of_plain_ct() -> None:
    ds, hu = standard_slice()
    values = decode_frame(ds)
    assert values.dtype == np.float64
    assert np.array_equal(values, hu)


def test_rescale_slope_and_intercept_are_applied() -> None:
    # PS3.3 C.11.1.1.2: HU = slope * stored + intercept. Stored values are (HU + 1024) / 2.
    hu = disk_hu(64, 64, (1.0, 1.0), (32, 32), 8, disk=200, background=-1000)
    ds = ct_dataset(hu, slope=2.0, intercept=-1024.0)
    stored = np.frombuffer(ds.PixelData, "<i2").reshape(64, 64)
    assert stored[0, 0] == 12  # (-1000 + 1024) / 2
    assert np.array_equal(decode_frame(ds), hu)


def test_modality_lut_sequence_replaces_rescale() -> None:
    hu = np.arange(16, dtype=np.int32).reshape(4, 4)
    ds = ct_dataset(hu)
    del ds.RescaleSlope, ds.RescaleIntercept
    item = Dataset()
    item.LUTDescriptor = [16, 0, 16]  # 16 entries, first stored value mapped 0, 16 bits
    item.LUTData = [v * 10 + 5 for v in range(16)]
    item.ModalityLUTType = "HU"
    ds.ModalityLUTSequence = DicomSequence([item])
    assert np.array_equal(decode_frame(ds), hu * 10 + 5)


def test_multi_frame_decodes_the_frame_asked_for() -> None:
    frames = [np.full((8, 8), v, dtype=np.int32) for v in (-100, 0, 100)]
    ds = ct_dataset(frames)
    assert [decode_frame(ds, n)[0, 0] for n in (1, 2, 3)] == [-100, 0, 100]
    with pytest.raises(RenderError, match="frame must be in 1..3, got 4"):
        decode_frame(ds, 4)


def enhanced_ct(frames: list[npt.NDArray[np.int32]], intercepts: list[float]) -> Dataset:
    """Enhanced CT: rescale per frame, spacing and window shared (PS3.3 C.7.6.16)."""
    ds = ct_dataset(frames)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = EnhancedCTImageStorage
    stored = [f for f in frames]  # slope 1, intercept 0 at the top level ...
    for keyword in ("RescaleSlope", "RescaleIntercept", "PixelSpacing",
                    "ImageOrientationPatient"):
        delattr(ds, keyword)
    per_frame = []
    for intercept in intercepts:  # ... and the real rescale in each frame's group
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept = 1, intercept
        transform.RescaleType = "HU"
        item = Dataset()
        item.PixelValueTransformationSequence = DicomSequence([transform])
        per_frame.append(item)
    measures, orientation, voi = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing = [0.8, 0.6]
    orientation.ImageOrientationPatient = list(CORONAL)
    voi.WindowCenter, voi.WindowWidth = -600, 1500
    shared = Dataset()
    shared.PixelMeasuresSequence = DicomSequence([measures])
    shared.PlaneOrientationSequence = DicomSequence([orientation])
    shared.FrameVOILUTSequence = DicomSequence([voi])
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    ds.PixelData = np.stack(stored).astype("<i2").tobytes()
    return ds


def test_enhanced_multi_frame_uses_functional_groups() -> None:
    frames = [np.full((32, 32), 24, dtype=np.int32), np.full((32, 32), 1024, dtype=np.int32)]
    ds = enhanced_ct(frames, intercepts=[-1024, -1000])
    assert decode_frame(ds, 1)[0, 0] == -1000
    assert decode_frame(ds, 2)[0, 0] == 24
    assert window_from_dataset(ds, 2) == Window(-600, 1500)
    key = render_key_image(ds, frame=2, crop_px=64, thumbnail_px=64)
    assert key.letters == EdgeLetters(top="H", bottom="F", left="R", right="L")
    # PixelSpacing (0.8, 0.6) from the shared group: the 32 x 32 slice is 25.6 mm tall,
    # 19.2 mm wide, so the thumbnail keeps that aspect with square pixels.
    assert decoded(key.thumbnail.png()).shape[:2] == (64, 48)


def test_ct_small_from_pydicom_decodes_to_hu() -> None:
    path = pydicom.data.get_testdata_file("CT_small.dcm")
    if path is None:
        pytest.skip("pydicom's CT_small.dcm is not available offline")
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert np.array_equal(decode_frame(ds), expected)
    key = render_key_image(ds, endpoints=((20, 20), (40, 40)))
    assert key.length_mm == pytest.approx(math.hypot(20 * ds.PixelSpacing[0],
                                                     20 * ds.PixelSpacing[1]))


def test_missing_file_meta_reads_native_pixel_data_leniently() -> None:
    ds, hu = standard_slice(size=16, radius_mm=3)
    del ds.file_meta
    assert np.array_equal(decode_frame(ds), hu)


def test_colour_image_is_refused_by_name() -> None:
    ds, _ = standard_slice(size=8, radius_mm=1)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "RGB"
    with pytest.raises(RenderError, match="monochrome") as caught:
        decode_frame(ds)
    assert caught.value.sop_instance_uid == ds.SOPInstanceUID


# --- compressed transfer syntaxes ---------------------------------------------------------


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless],
                         ids=lambda s: s.name)
def test_lossless_compression_decodes_to_the_original(syntax: pydicom.uid.UID) -> None:
    hu = disk_hu(96, 80, (0.7, 0.7), (40, 50), 9)
    hu = hu + (np.arange(80)[None, :] % 7)  # some texture, so no codec gets a flat image
    original = ct_dataset(hu, slope=1.0, intercept=0.0)
    compressed = copy.deepcopy(original)
    compressed.compress(syntax)  # pydicom's RLE encoder, pyjpegls, pylibjpeg-openjpeg
    assert compressed.file_meta.TransferSyntaxUID == syntax
    assert compressed.PixelData != original.PixelData
    assert np.array_equal(decode_frame(compressed), decode_frame(original))
    assert np.array_equal(decode_frame(compressed), hu)


def jpeg_baseline_ct(gray: npt.NDArray[np.uint8]) -> Dataset:
    """8-bit image encapsulated as JPEG baseline (pydicom 3 has no baseline encoder)."""
    buffer = io.BytesIO()
    Image.fromarray(gray, mode="L").save(buffer, format="JPEG", quality=95)
    ds = ct_dataset(gray.astype(np.int32), intercept=-1024.0)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.LossyImageCompression = "01"
    return ds


def test_jpeg_baseline_decodes_within_lossy_tolerance() -> None:
    rr, cc = np.mgrid[0:64, 0:64]
    gray = (100 + 80 * np.exp(-((rr - 30) ** 2 + (cc - 34) ** 2) / 200)).astype(np.uint8)
    values = decode_frame(jpeg_baseline_ct(gray))
    expected = gray.astype(np.float64) - 1024
    assert np.abs(values - expected).max() <= 4
    assert np.abs(values - expected).mean() < 1


def test_truncated_fragment_raises_image_decode_error_naming_the_image() -> None:
    ds, _ = standard_slice(size=32, radius_mm=5)
    ds.compress(RLELossless)
    fragment = ds.PixelData
    ds.PixelData = fragment[: len(fragment) // 2]
    with pytest.raises(ImageDecodeError) as caught:
        decode_frame(ds)
    error = caught.value
    assert isinstance(error, ImagingError)
    assert error.sop_instance_uid == ds.SOPInstanceUID
    assert error.transfer_syntax_uid == RLELossless
    assert ds.SOPInstanceUID in str(error) and "RLE Lossless" in str(error)


def test_bogus_transfer_syntax_raises_image_decode_error() -> None:
    ds, _ = standard_slice(size=8, radius_mm=1)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.UID("1.2.3.4.5.6")
    with pytest.raises(ImageDecodeError, match=r"1\.2\.3\.4\.5\.6") as caught:
        render_key_image(ds)
    assert caught.value.sop_instance_uid == ds.SOPInstanceUID


# --- windowing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "hu", "expected"),
    [
        # PS3.3 C.11.2.1.2.1 with c = 40, w = 400: black at or below c - 0.5 - (w-1)/2 =
        # -160, white above c - 0.5 + (w-1)/2 = 239, the centre near mid-grey.
        (MEDIASTINUM, 40, 128),
        (MEDIASTINUM, -160, 0),
        (MEDIASTINUM, -1000, 0),
        (MEDIASTINUM, 239, 255),
        (MEDIASTINUM, 3000, 255),
        (LUNG, -600, 128),
        (LUNG, -1350, 0),
        (BONE, 400, 128),
        (Window(0, 1), -1, 0),  # w = 1 is a step at c - 0.5
        (Window(0, 1), 0, 255),
        (Window(0, 100, function=VoiFunction.LINEAR_EXACT), 0, 128),  # C.11.2.1.3.2
        (Window(0, 100, function=VoiFunction.LINEAR_EXACT), -50, 0),
        (Window(0, 100, function=VoiFunction.SIGMOID), 0, 128),  # C.11.2.1.3.1
    ],
)
def test_voi_function_table(window: Window, hu: float, expected: int) -> None:
    assert int(voi_to_8bit(np.array([float(hu)]), window)[0]) == expected


@settings(max_examples=200, deadline=None)
@given(
    center=st.floats(-2000, 2000), width=st.floats(1, 5000),
    values=st.lists(st.floats(-5000, 5000), min_size=2, max_size=50),
)
def test_linear_voi_is_monotone_and_clipped(
    center: float, width: float, values: list[float]
) -> None:
    x = np.sort(np.array(values))
    y = voi_to_8bit(x, Window(center, width))
    assert np.all(np.diff(y.astype(int)) >= 0)
    assert np.all(y[x <= center - 0.5 - (width - 1) / 2] == 0)
    assert np.all(y[x > center - 0.5 + (width - 1) / 2] == 255)


@pytest.mark.parametrize(("center", "width"), [(40, 0), (40, 0.5), (40, -1),
                                               (math.nan, 400), (40, math.inf)])
def test_window_cannot_be_built_invalid(center: float, width: float) -> None:
    with pytest.raises(RenderError, match="Window"):
        Window(center, width)


def test_presets() -> None:
    assert (LUNG.center, LUNG.width) == (-600, 1500)
    assert (MEDIASTINUM.center, MEDIASTINUM.width) == (40, 400)
    assert (BONE.center, BONE.width) == (400, 1800)
    assert set(PRESETS) == {"LUNG", "MEDIASTINUM", "LIVER", "BONE"}
    assert PRESETS["LIVER"] is LIVER


def test_window_from_dataset_takes_the_first_of_several() -> None:
    ds, _ = standard_slice(size=8, radius_mm=1, window=([40, -600], [400, 1500]))
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "LUNG"]
    assert window_from_dataset(ds) == Window(40, 400, "SOFT TISSUE")


def test_window_from_dataset_absent_or_unusable() -> None:
    ds, _ = standard_slice(size=8, radius_mm=1)
    assert window_from_dataset(ds) is None
    ds.WindowCenter, ds.WindowWidth = 40, 0  # width < 1 is invalid for LINEAR
    assert window_from_dataset(ds) is None


def test_rendered_window_maps_centre_to_mid_grey_and_clips() -> None:
    # Background -1000 (below), disk at the window centre, a bone disk above the window.
    hu = disk_hu(128, 128, (1.0, 1.0), (64, 64), 20, disk=TISSUE_HU, background=-1000)
    hu[disk_hu(128, 128, (1.0, 1.0), (20, 100), 6, disk=1, background=0) == 1] = 1500
    ds = ct_dataset(hu, spacing=(1.0, 1.0), window=(TISSUE_HU, 400))
    key = render_key_image(ds, crop_mm=128, crop_px=128, thumbnail_px=128)
    assert key.window == Window(TISSUE_HU, 400)
    for png in (key.crop.png(), key.thumbnail.png()):
        rgb = decoded(png)
        assert tuple(rgb[70, 58]) == (128, 128, 128)  # inside the disk, clear of text
        assert tuple(rgb[20, 100]) == (255, 255, 255)  # bone: above the window
        assert tuple(rgb[100, 20]) == (0, 0, 0)  # air: below the window


def test_preset_overrides_the_image_window() -> None:
    ds, _ = standard_slice(size=64, radius_mm=5, window=(40, 400))
    assert render_key_image(ds, window=LUNG, crop_px=64, thumbnail_px=64).window == LUNG


def test_ct_without_window_falls_back_to_soft_tissue() -> None:
    ds, _ = standard_slice(size=64, radius_mm=5)
    assert render_key_image(ds, crop_px=64, thumbnail_px=64).window == MEDIASTINUM


def test_monochrome1_is_shown_inverted() -> None:
    ds, _ = standard_slice(size=64, spacing=(1.0, 1.0), center_px=(32, 32), radius_mm=10,
                           window=(0, 100), photometric="MONOCHROME1")
    rgb = decoded(render_key_image(ds, crop_mm=64, crop_px=64, thumbnail_px=64).crop.png())
    # PS3.3 C.7.6.3.1.2: the minimum (air) shows white, the bright disk black.
    assert tuple(rgb[40, 40]) == (255, 255, 255)
    assert tuple(rgb[36, 32]) == (0, 0, 0)


# --- orientation letters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [
        (AXIAL, EdgeLetters(top="A", bottom="P", left="R", right="L")),
        (CORONAL, EdgeLetters(top="H", bottom="F", left="R", right="L")),
        (SAGITTAL, EdgeLetters(top="H", bottom="F", left="A", right="P")),
        # Prone axial, rows running to the patient's right: everything flipped.
        ((-1, 0, 0, 0, -1, 0), EdgeLetters(top="P", bottom="A", left="L", right="R")),
        # Axial with a 10 degree gantry tilt: below the oblique threshold, same letters.
        ((1, 0, 0, 0, math.cos(math.radians(10)), -math.sin(math.radians(10))),
         EdgeLetters(top="A", bottom="P", left="R", right="L")),
        # 30 degree tilt: the column leans towards the feet, two letters per edge.
        ((1, 0, 0, 0, math.cos(math.radians(30)), -math.sin(math.radians(30))),
         EdgeLetters(top="AH", bottom="PF", left="R", right="L")),
    ],
)
def test_orientation_letters(orientation: Sequence[float], expected: EdgeLetters) -> None:
    assert orientation_letters(orientation) == expected


unit_vectors = st.tuples(*[st.floats(-1, 1)] * 3).filter(
    lambda v: math.sqrt(sum(c * c for c in v)) > 0.1
)


@given(a=unit_vectors, b=unit_vectors)
def test_opposite_edges_have_opposite_letters(
    a: tuple[float, float, float], b: tuple[float, float, float]
) -> None:
    row = np.array(a) / np.linalg.norm(a)
    column = np.array(b) - np.dot(b, row) * row
    if np.linalg.norm(column) < 0.1:
        return
    column /= np.linalg.norm(column)
    letters = orientation_letters([*row, *column])
    opposite = str.maketrans("LRAPHF", "RLPAFH")
    assert letters.bottom == letters.top.translate(opposite)
    assert letters.right == letters.left.translate(opposite)
    assert letters.right == direction_letters(tuple(row))


def test_degenerate_orientation_is_refused() -> None:
    with pytest.raises(RenderError):
        orientation_letters([0, 0, 0, 0, 1, 0])
    with pytest.raises(RenderError):
        orientation_letters([1, 0, 0])


def test_image_without_orientation_renders_without_letters() -> None:
    ds, _ = standard_slice(size=64, radius_mm=5, orientation=None)
    assert render_key_image(ds, crop_px=64, thumbnail_px=64).letters is None


# --- caliper, crop, scale bar ----------------------------------------------------------------


def output_xy(key: KeyImage, row: float, col: float, spacing: tuple[float, float]) -> tuple[
        float, float]:
    """Where a source (row, col) edge coordinate lands in the crop, from the reported box."""
    box = key.crop_box
    return ((col - box.left) * spacing[1] / key.crop_pixel_mm,
            (row - box.top) * spacing[0] / key.crop_pixel_mm)


def test_caliper_is_drawn_across_the_disk() -> None:
    # A 20 mm disk centred at (row 64, col 64); caliper along its horizontal diameter.
    ds, _ = standard_slice(size=128, spacing=(0.7, 0.7), center_px=(64, 64), radius_mm=10)
    endpoints = ((64.0, 64 - 10 / 0.7), (64.0, 64 + 10 / 0.7))
    key = render_key_image(ds, endpoints=endpoints, crop_px=300)
    assert key.length_mm == pytest.approx(20.0)
    # Crop side: 2.5 x 20 mm = 50 mm (also the minimum), centred on the caliper midpoint.
    assert key.crop_box.side_mm == pytest.approx(50.0)
    assert key.crop_box.center == pytest.approx((64.0, 64.0))
    assert key.crop_pixel_mm == pytest.approx(50 / 300)
    rgb = decoded(key.crop.png())
    assert rgb.shape == (300, 300, 3)
    caliper = is_caliper(rgb)
    (xa, ya), (xb, yb) = (output_xy(key, r, c, (0.7, 0.7)) for r, c in endpoints)
    assert (xa, xb) == pytest.approx((90.0, 210.0))
    for t in np.linspace(0.02, 0.98, 25):
        x, y = xa + t * (xb - xa), ya + t * (yb - ya)
        assert caliper[int(y) - 1:int(y) + 2, int(x)].any(), f"no caliper at ({x}, {y})"
    # Nothing yellow far from the line and the "20.0 mm" text right of it.
    assert not caliper[:120].any() and not caliper[180:].any()
    # The disk under the line: grey above and below the caliper, inside the 20 mm.
    assert rgb[140, 150, 0] > 100 and rgb[160, 150, 0] > 100
    assert rgb[150, 60, 0] == 0  # air left of the disk


def test_caliper_and_crop_frame_on_the_thumbnail() -> None:
    ds, _ = standard_slice(size=200, spacing=(0.5, 0.5), center_px=(60, 140), radius_mm=8)
    endpoints = ((60.0, 140 - 16.0), (60.0, 140 + 16.0))
    key = render_key_image(ds, endpoints=endpoints, thumbnail_px=200, length_mm=16.04)
    rgb = decoded(key.thumbnail.png())
    assert rgb.shape == (200, 200, 3)
    assert key.thumbnail_pixel_mm == pytest.approx(0.5)
    assert is_caliper(rgb)[59:62, 128:152].any(axis=0).all()
    box = key.crop_box  # 50 mm = 100 source pixels = 100 thumbnail pixels, around (60, 140)
    assert (box.top, box.left, box.bottom, box.right) == pytest.approx((10, 90, 110, 190))
    frame = np.abs(rgb.astype(int) - np.array(CROP_FRAME_RGB)).max(axis=-1) <= 40
    # Clear of the letter A on the top edge and of the length text left of the caliper.
    assert frame[10, 110:185].all() and frame[15:50, 90].all() and frame[70:105, 90].all()


def test_length_text_is_the_given_length() -> None:
    ds, _ = standard_slice()
    endpoints = ((64.0, 50.0), (64.0, 78.0))
    assert render_key_image(ds, endpoints=endpoints, length_mm=23.4).length_mm == 23.4
    assert render_key_image(ds, endpoints=endpoints).length_mm == pytest.approx(28 * 0.7)


def test_crop_at_the_edge_stays_centred_and_pads_black() -> None:
    ds, _ = standard_slice(size=128, spacing=(1.0, 1.0), center_px=(10, 10), radius_mm=6,
                           window=(0, 100))
    key = render_key_image(ds, endpoints=((10.0, 4.0), (10.0, 16.0)), crop_px=200)
    assert key.crop_box.center == pytest.approx((10.0, 10.0))
    assert key.crop_box.side_mm == pytest.approx(50.0)
    rgb = decoded(key.crop.png())  # 4 output pixels per mm; the image starts at (60, 60)
    assert tuple(rgb[112, 100]) == (255, 255, 255)  # the disk, 3 mm below the crop centre
    assert tuple(rgb[140, 140]) == (0, 0, 0)  # air inside the image, beyond the disk
    assert rgb[30:55, 30:55].max() == 0  # above and left of the image: black padding


@pytest.mark.parametrize("spacing", [(0.5, 1.0), (1.0, 0.5), (0.7, 0.7)])
def test_anisotropic_spacing_gives_square_pixels_and_true_scale_bar(
    spacing: tuple[float, float],
) -> None:
    row_mm, col_mm = spacing
    rows, cols = round(60 / row_mm), round(60 / col_mm)  # about 60 mm square
    center = (rows / 2, cols / 2)
    hu = disk_hu(rows, cols, spacing, center, 10, disk=TISSUE_HU)
    ds = ct_dataset(hu, spacing=spacing, window=(TISSUE_HU, 400))
    # No caliper: the crop is centred on the slice, which is the disk's centre.
    key = render_key_image(ds, crop_mm=60.0, crop_px=300, thumbnail_px=240)
    assert key.crop_box.center == pytest.approx(center)
    rgb = decoded(key.crop.png())
    assert key.crop_pixel_mm == pytest.approx(0.2)
    # The 20 mm disk is 100 output pixels across and down (at half its grey level), whatever
    # the spacing; without square pixels 0.5 x 1.0 mm would make it a 2:1 ellipse. The disk
    # is sampled at pixel centres, so its edges are uncertain by one source pixel.
    disk = rgb[30:270, 30:270, 0] > 64  # away from the edge letters and the scale bar
    across, down = int(disk[120].sum()), int(disk[:, 120].sum())
    tolerance = max(spacing) / key.crop_pixel_mm
    assert abs(across - 100) <= tolerance and abs(down - 100) <= tolerance
    # Scale bar: 10 mm (the longest round length under 30 % of 60 mm) = 50 output pixels.
    assert key.crop_scale_bar_mm == 10.0
    assert longest_white_run(rgb[-40:]) == 50
    thumbnail = decoded(key.thumbnail.png())
    pixel_mm = max(rows * row_mm, cols * col_mm) / 240
    assert key.thumbnail_pixel_mm == pytest.approx(pixel_mm)
    assert thumbnail.shape[:2] == (240, 240)
    assert longest_white_run(thumbnail[-40:]) == round(key.thumbnail_scale_bar_mm / pixel_mm)


def longest_white_run(rgb: npt.NDArray[np.uint8]) -> int:
    white = (rgb == 255).all(axis=-1)
    best = 0
    for row in white:
        run = 0
        for value in row:
            run = run + 1 if value else 0
            best = max(best, run)
    return best


@pytest.mark.parametrize(("width_mm", "expected"),
                         [(50, 10), (60, 10), (70, 20), (180, 50), (400, 100), (2, 1)])
def test_scale_bar_choice(width_mm: float, expected: float) -> None:
    assert scale_bar_mm(width_mm) == expected


def test_crop_side_grows_with_the_lesion() -> None:
    ds, _ = standard_slice(size=256, spacing=(1.0, 1.0), center_px=(128, 128), radius_mm=40)
    key = render_key_image(ds, endpoints=((128.0, 88.0), (128.0, 168.0)))
    assert key.crop_box.side_mm == pytest.approx(200.0)  # 2.5 x 80 mm


def test_without_caliper_the_crop_is_the_whole_slice() -> None:
    ds, _ = standard_slice(size=100, spacing=(0.8, 0.8), center_px=(50, 50), radius_mm=5)
    key = render_key_image(ds)
    assert key.length_mm is None
    assert key.crop_box.side_mm == pytest.approx(80.0)
    assert not is_caliper(decoded(key.crop.png())).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoints": ((0.0, 0.0), (129.0, 10.0))}, "outside"),
        ({"endpoints": ((math.nan, 0.0), (1.0, 1.0))}, "finite"),
        ({"crop_mm": 0.0}, "crop_mm"),
        ({"crop_px": 10}, "crop_px"),
        ({"frame": 0}, "frame"),
        ({"length_mm": -1.0}, "length_mm"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    ds, _ = standard_slice()
    with pytest.raises(RenderError, match=message):
        render_key_image(ds, **kwargs)  # type: ignore[arg-type]


def test_missing_pixel_spacing_names_the_image() -> None:
    ds, _ = standard_slice(size=16, radius_mm=2)
    del ds.PixelSpacing
    with pytest.raises(RenderError, match="PixelSpacing") as caught:
        render_key_image(ds)
    assert caught.value.sop_instance_uid == ds.SOPInstanceUID


def test_png_data_uri_round_trip() -> None:
    ds, _ = standard_slice(size=32, radius_mm=3)
    png = render_key_image(ds, crop_px=64, thumbnail_px=64).crop.png()
    uri = png_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
    with pytest.raises(RenderError):
        png_data_uri(b"GIF89a")


def test_encapsulated_data_without_transfer_syntax_is_named() -> None:
    ds, _ = standard_slice(size=16, radius_mm=3)
    ds.compress(RLELossless)
    del ds.file_meta
    with pytest.raises(ImageDecodeError, match="without a Transfer Syntax UID") as caught:
        decode_frame(ds)
    assert caught.value.sop_instance_uid == ds.SOPInstanceUID


@pytest.mark.parametrize("center, width", [
    (40.0, 400.0), (-600.0, 1500.0), (400.0, 1800.0), (50.0, 2.0), (0.5, 1.5),
    (-1024.0, 4096.0), (35.25, 80.5), (3000.0, 10.0),
])
def test_the_float32_linear_window_gives_pydicoms_grey_levels(center: float,
                                                              width: float) -> None:
    """LINEAR in float32 against pydicom's own (float64): within one grey level, and at
    most a rounding tie apart (PS3.3 C.11.2.1.2.1)."""
    from pydicom.pixels.processing import apply_windowing

    from imaging.render.window import _voi_lut_module

    rng = np.random.default_rng(22)
    values = np.concatenate([rng.uniform(-3000, 4000, 200_000),
                             np.arange(-1100, 3100, 0.25)]).astype(np.float32)
    window = Window(center=center, width=width)
    ours = voi_to_8bit(values, window)
    theirs = np.rint(apply_windowing(values.astype(np.float64), _voi_lut_module(window)))
    difference = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
    assert difference.max() <= 1
    assert np.count_nonzero(difference) <= values.size // 10_000
