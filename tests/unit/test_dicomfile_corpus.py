"""The acceptance checks agree with pydicom on pydicom's own test files (data nobody here
wrote): valid files are accepted, damaged ones refused with a reason that says what is
wrong. Files are asked for by exact name (a pattern makes pydicom try to download)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from imaging.dicomfile import InvalidDicomFile, inspect_part10


def _bytes(name: str) -> bytes:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not shipped with this pydicom")
    return Path(str(path)).read_bytes()


#: Valid images, several with trailing padding after the pixel data (FFFC,FFFC) or
#: YBR_FULL_422 (two bytes a pixel), which earlier checks refused (issue 20).
VALID = [
    "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
    "SC_ybr_full_422_uncompressed.dcm", "CT_small.dcm", "MR_small.dcm", "MR_small_padded.dcm",
    "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm", "JPEG2000.dcm",
    "JPGExtended.dcm", "SC_rgb_rle_2frame.dcm", "SC_rgb_rle_32bit_2frame.dcm",
    "SC_rgb_small_odd.dcm", "SC_rgb_jpeg_dcmtk.dcm", "examples_ybr_color.dcm",
    "examples_palette.dcm", "liver_1frame.dcm", "rtdose_rle.dcm", "rtdose.dcm", "rtplan.dcm",
    "test-SR.dcm", "693_J2KI.dcm", "JPEG2000-embedded-sequence-delimiter.dcm",
]


@pytest.mark.parametrize("name", VALID)
def test_valid_files_are_accepted(name: str) -> None:
    data = _bytes(name)
    identity = inspect_part10(data)
    ds = pydicom.dcmread(io.BytesIO(data))
    assert identity.sop_instance_uid == ds.SOPInstanceUID


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm",
                                  "SC_ybr_full_422_uncompressed.dcm"])
def test_files_refused_before_decode_with_pydicom(name: str) -> None:
    """The four files of the issue: pydicom decodes each, so Nadir must accept each."""
    ds = pydicom.dcmread(io.BytesIO(_bytes(name)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ds.pixel_array.size > 0
    inspect_part10(_bytes(name))


@pytest.mark.parametrize(("name", "reason"), [
    ("MR_truncated.dcm", "element (7FE0,0010) declares 8,192 bytes but the file holds 8,130"),
    ("rtplan_truncated.dcm", "element (300A,00B0) declares 976 bytes"),
    ("no_meta.dcm", "not a DICOM Part 10 file"),
    ("ExplVR_BigEndNoMeta.dcm", "not a DICOM Part 10 file"),
])
def test_damaged_files_are_refused_with_what_is_wrong(name: str, reason: str) -> None:
    with pytest.raises(InvalidDicomFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        inspect_part10(_bytes(name))


def test_a_dicomdir_is_named_as_a_media_directory() -> None:
    path = get_testdata_file("DICOMDIR")
    if path is None:
        pytest.skip("DICOMDIR is not shipped with this pydicom")
    with pytest.raises(InvalidDicomFile, match="DICOMDIR is a media directory"):
        inspect_part10(Path(str(path)).read_bytes())


@pytest.mark.parametrize("cut", [1, 7, 100, 1000])
def test_a_file_cut_anywhere_in_encapsulated_pixel_data_is_refused(cut: int) -> None:
    data = _bytes("MR_small_RLE.dcm")
    # The file ends with its pixel data and then padding: cut inside the fragments.
    end = data.rfind(b"\xfe\xff\xdd\xe0")
    with pytest.raises(InvalidDicomFile, match="truncated"):
        inspect_part10(data[:end - cut])


def test_an_element_declaring_more_than_the_file_holds_is_named() -> None:
    ds = pydicom.dcmread(io.BytesIO(_bytes("CT_small.dcm")))
    buffer = io.BytesIO()
    ds.save_as(buffer)
    data = bytearray(buffer.getvalue())
    # Explicit VR Little Endian: Pixel Data (7FE0,0010) OW has a 4-byte length after 4
    # bytes of tag and 4 of VR and reserved bytes. Declare 2 GB.
    at = data.rfind(b"\xe0\x7f\x10\x00OW\x00\x00")
    data[at + 8:at + 12] = (2 ** 31).to_bytes(4, "little")
    with pytest.raises(InvalidDicomFile, match="declares 2,147,483,648 bytes"):
        inspect_part10(bytes(data))
