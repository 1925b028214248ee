"""Split and coalesced lesions in Nadir's TID 1500 reports (RECIST 1.1 s4.3.2).

RECIST 1.1 (Eisenhauer et al. 2009) section 4.3.2: "when non-nodal lesions 'fragment', the
longest diameters of the fragmented portions should be added together to calculate the
target lesion sum"; lesions that "have truly coalesced" are measured as one, the "maximal
longest diameter for the 'coalesced lesion'". A split lesion's group carries one length
per fragment, each with its own SCOORD; a coalesced one a coded status and the Tracking
UID of the lesion that carries the merged diameter. Both round-trip, pass dciodvfy with no
error, and a third-party reader (highdicom) reads the fragments' coordinates.
"""

from __future__ import annotations

import datetime
from io import BytesIO
from pathlib import Path

import highdicom as hd
import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid

from imaging.sr import (
    Fragment,
    InvalidDocumentInput,
    LinearMeasurement,
    build_measurement_report,
    read_measurement_report,
    scoord_from_row_col,
)
from imaging.sr.codes import COALESCED, LONG_AXIS, SPLIT
from tests.unit.test_sr_factories import (
    caliper,
    ct_study,
    dciodvfy,
    reread,
    source_of,
    timepoint_report,
    to_bytes,
)

T1, T2, T3 = (generate_uid() for _ in range(3))


def _fragment(image: Dataset, endpoints_rc: list[tuple[float, float]],
              length_mm: float) -> Fragment:
    return Fragment(length_mm=length_mm, source=source_of(image),
                    polyline=scoord_from_row_col(endpoints_rc))


def _report_dataset() -> tuple[Dataset, list[Dataset]]:
    images = ct_study(3, study_date="20260302")
    split = LinearMeasurement(
        tracking_uid=T1, tracking_id="T1", length_mm=24.0, source=None, polyline=None,
        finding_site="liver", fragments=(
            _fragment(images[0], [(2.0, 0.0), (2.0, 5.0)], 16.0),
            _fragment(images[1], [(3.0, 1.0), (3.0, 4.0)], 8.0)))
    merged_into = caliper(T2, "T2", images[2], [(1.0, 1.0), (1.0, 7.0)], 30.0,
                          finding_site="liver")
    merged = LinearMeasurement(tracking_uid=T3, tracking_id="T3", length_mm=None, source=None,
                               polyline=None, finding_site="liver", coalesced_into=T2)
    report = timepoint_report(images, [split, merged_into, merged], timepoint_id="FU1",
                              date=datetime.date(2026, 3, 2))
    ds = build_measurement_report(report, sop_instance_uid=generate_uid(),
                                  series_instance_uid=generate_uid())
    return ds, images


def test_split_and_coalesced_lesions_round_trip() -> None:
    ds, images = _report_dataset()
    read = read_measurement_report(reread(ds))
    assert read.not_mapped == ()
    by_id = {m.tracking_id: m for m in read.measurements}
    assert sorted(by_id) == ["T1", "T2", "T3"]
    split = by_id["T1"]
    assert (split.tracking_uid, split.length_mm) == (T1, 24.0)
    assert [(f.length_mm, f.source.sop_instance_uid, f.polyline_rc) for f in split.fragments] \
        == [(16.0, images[0].SOPInstanceUID, ((2.0, 0.0), (2.0, 5.0))),
            (8.0, images[1].SOPInstanceUID, ((3.0, 1.0), (3.0, 4.0)))]
    assert split.fragments[0].source.series_instance_uid == images[0].SeriesInstanceUID
    merged = by_id["T3"]
    assert (merged.coalesced_into, merged.length_mm, merged.fragments) == (T2, None, ())
    assert (by_id["T2"].length_mm, by_id["T2"].fragments, by_id["T2"].coalesced_into) == (
        30.0, (), None)


def test_a_third_party_reader_sees_each_fragment_with_its_coordinates() -> None:
    ds, images = _report_dataset()
    sr = hd.sr.srread(BytesIO(to_bytes(ds)))  # highdicom parses it as a Comprehensive SR
    container = next(item for item in sr.ContentSequence
                     if item.ConceptNameCodeSequence[0].CodeValue == "126010")
    split_group = container.ContentSequence[0]
    lengths = [item for item in split_group.ContentSequence if item.ValueType == "NUM"]
    assert [item.ConceptNameCodeSequence[0].CodeValue for item in lengths] == \
        [LONG_AXIS.value] * 2
    scoords = [child for item in lengths for child in item.ContentSequence
               if child.ValueType == "SCOORD"]
    assert [(s.RelationshipType, s.GraphicType, list(s.GraphicData)) for s in scoords] == [
        ("INFERRED FROM", "POLYLINE", [0.0, 2.0, 5.0, 2.0]),
        ("INFERRED FROM", "POLYLINE", [1.0, 3.0, 4.0, 3.0])]
    images_referenced = [s.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
                         for s in scoords]
    assert images_referenced == [images[0].SOPInstanceUID, images[1].SOPInstanceUID]
    statuses = [item.ConceptCodeSequence[0].CodeValue for group in container.ContentSequence
                for item in group.ContentSequence if item.ValueType == "CODE"
                and item.ConceptNameCodeSequence[0].CodeValue == "LESION_STATUS"]
    assert statuses == [SPLIT.value, COALESCED.value]


def test_dciodvfy_finds_no_error(tmp_path: Path) -> None:
    ds, _ = _report_dataset()
    lines = dciodvfy(ds, tmp_path)
    assert [line for line in lines if line.startswith("Error")] == [], "\n".join(lines)
    others = [line for line in lines if line.startswith("Warning") and "99NADIR" not in line]
    assert others == [], "\n".join(lines)


@pytest.mark.parametrize(("changes", "words"), [
    ({"fragments": ()}, "needs length_mm"),
    ({"length_mm": 25.0}, "must be the sum of the fragments, 24 mm"),
    ({"nodal": True}, "only a non-nodal target lesion splits"),
    ({"coalesced_into": T1}, "has no fragments and no length"),
    ({"status": "too_small"}, "status"),
])
def test_a_split_reading_that_does_not_add_up_is_refused(changes: dict[str, object],
                                                         words: str) -> None:
    images = ct_study(2)
    fields: dict[str, object] = dict(
        tracking_uid=T1, tracking_id="T1", length_mm=24.0, source=None, polyline=None,
        fragments=(_fragment(images[0], [(2.0, 0.0), (2.0, 5.0)], 16.0),
                   _fragment(images[1], [(3.0, 1.0), (3.0, 4.0)], 8.0)))
    fields.update(changes)
    with pytest.raises(InvalidDocumentInput, match=words):
        LinearMeasurement(**fields)  # type: ignore[arg-type]


def test_a_lesion_cannot_coalesce_into_itself() -> None:
    with pytest.raises(InvalidDocumentInput, match="cannot coalesce into itself"):
        LinearMeasurement(tracking_uid=T1, tracking_id="T1", length_mm=None, source=None,
                          polyline=None, coalesced_into=T1)
