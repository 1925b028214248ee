"""Cutting a series' DICOM JSON into instances keeps every kept attribute's text as it came:
numbers with their digits, strings with their escapes; bulk data and Orthanc's URLs go."""

from __future__ import annotations

import json

import pytest

from pacs.dicomjson import (
    MetadataRefused,
    join_series_metadata,
    split_series_metadata,
)

UID = '"00080018":{"vr":"UI","Value":["1.2.3.%d"]}'
PIXELS = '"7FE00010":{"vr":"OW","BulkDataURI":"http://orthanc:8042/dicom-web/studies/1/bulk"}'


def _instance(n: int, *extra: str) -> str:
    return "{" + ",".join([UID % n, *extra]) + "}"


def test_attributes_keep_their_text_byte_for_byte() -> None:
    spacing = '"00280030":{"vr":"DS","Value":[0.10000000000000001,1e-05]}'
    name = '"00100010":{"vr":"PN","Value":[{"Alphabetic":"A\\u00e9\\"b\\\\^C"}]}'
    empty = '"00200052":{"vr":"UI"}'
    body = "[" + _instance(1, spacing, name, empty, PIXELS) + "]"
    (instance,) = split_series_metadata(body.encode())
    assert instance.sop_instance_uid == "1.2.3.1"
    assert instance.text == "{" + ",".join([UID % 1, spacing, name, empty]) + "}"
    assert json.loads(instance.text)["00100010"]["Value"][0]["Alphabetic"] == 'Aé"b\\^C'


def test_whitespace_between_tokens_goes_and_tokens_stay() -> None:
    pretty = json.dumps([{"00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
                          "00280010": {"vr": "US", "Value": [512]},
                          "00081190": {"vr": "UR", "Value": ["http://orthanc/x"]},
                          "00400275": {"vr": "SQ", "Value": [{"00321060": {
                              "vr": "LO", "Value": ["a , b : [c]"]}}]}}], indent=3)
    (instance,) = split_series_metadata(pretty.encode())
    assert instance.text == ('{"00080018":{"vr":"UI","Value":["1.2.3.4"]},'
                             '"00280010":{"vr":"US","Value":[512]},'
                             '"00400275":{"vr":"SQ","Value":[{"00321060":{"vr":"LO",'
                             '"Value":["a , b : [c]"]}}]}}')


def test_instances_join_into_the_answer() -> None:
    body = "[" + ",".join(_instance(n, PIXELS) for n in range(3)) + "]"
    instances = split_series_metadata(body.encode())
    assert [i.sop_instance_uid for i in instances] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
    joined = join_series_metadata([i.text.encode() for i in instances])
    assert json.loads(joined) == [json.loads(_instance(n)) for n in range(3)]
    assert split_series_metadata(b" [ ] ") == []


def test_an_icon_image_is_left_out_with_its_pixels() -> None:
    icon = '"00880200":{"vr":"SQ","Value":[{"7FE00010":{"vr":"OB","BulkDataURI":"http://x"}}]}'
    (instance,) = split_series_metadata(("[" + _instance(5, icon) + "]").encode())
    assert "00880200" not in json.loads(instance.text)


def test_bulk_data_the_viewer_needs_keeps_the_series_on_orthanc() -> None:
    palette = '"00281201":{"vr":"OW","BulkDataURI":"http://orthanc/bulk/00281201"}'
    with pytest.raises(MetadataRefused, match="00281201"):
        split_series_metadata(("[" + _instance(1, palette) + "]").encode())


@pytest.mark.parametrize("body", [
    b"", b"{}", b"[", b"[{]", b'[{"00080018":}]', b'[{"00080018":{"vr":"UI"}}]',
    b'[{"00080018":{"vr":"UI","Value":["1"]}} x]', b'[{"00080018":{"vr":"UI","Value":["1]}}]',
    b'[{"00080018":{"vr":"UI","Value":[1]}}]', b'[{"00080018":{"vr":"UI","Value":["1"],}}]',
    b'[{"00080018":{"vr":"UI","Value":["1"]}},]', b'[{"00080018":{"vr":"UI","Value":["1"]},'
    b'"00100010":{"vr":"PN","Value":[nul]}}]', b'[{"00080018":{"vr":"UI","Value":["\xff"]}}]',
])
def test_what_is_not_dicom_json_is_refused(body: bytes) -> None:
    with pytest.raises(MetadataRefused):
        split_series_metadata(body)
