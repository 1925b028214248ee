"""Patient names decoded from the raw bytes with pydicom (pydicom's character-set files)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imaging.charset import charsets_of, decode_person_name, needs_decoding

CHARSET_FILES = Path(pydicom.__file__).parent / "data" / "charset_files"


@pytest.mark.parametrize("name", ["chrH31.dcm", "chrH32.dcm", "chrI2.dcm", "chrX1.dcm",
                                  "chrX2.dcm", "chrFren.dcm", "chrArab.dcm", "chrHbrw.dcm",
                                  "chrJapMulti.dcm", "chrKoreanMulti.dcm"])
def test_raw_names_decode_as_pydicom_reads_the_file(name: str) -> None:
    raw = pydicom.dcmread(CHARSET_FILES / name, defer_size=None)
    expected = str(raw.PatientName)
    plain = pydicom.dcmread(CHARSET_FILES / name)
    element = plain.get_item((0x0010, 0x0010))
    assert element is not None and isinstance(element.value, bytes)
    # As Orthanc's /content answers: the value's bytes, values separated by backslashes.
    values = plain.SpecificCharacterSet
    charset = "\\".join(values) if isinstance(values, list | pydicom.multival.MultiValue) \
        else str(values)
    assert decode_person_name(element.value, charsets_of(charset.encode())) == expected


def test_which_character_sets_need_decoding() -> None:
    assert charsets_of(b"ISO 2022 IR 13\\ISO 2022 IR 87 ") == ["ISO 2022 IR 13",
                                                                "ISO 2022 IR 87"]
    assert charsets_of(None) == [""]
    assert not needs_decoding(charsets_of(None))
    assert not needs_decoding(["ISO_IR 6"])
    assert needs_decoding(["ISO_IR 192"])
    assert needs_decoding(["", "ISO 2022 IR 87"])
    assert needs_decoding(["GB18030"])


def test_odd_input_is_read_leniently() -> None:
    assert decode_person_name(b"Buc^J\xe9r\xf4me", ["no such set"]) is not None
    assert decode_person_name(b"  ", ["ISO_IR 100"]) is None
    assert decode_person_name(b"Doe^John\x00", ["ISO_IR 100"]) == "Doe^John"
