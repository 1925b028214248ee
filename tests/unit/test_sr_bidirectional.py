"""Both diameters of a bidirectional measurement and a lesion's point in Nadir's TID 1500
report (issue 19): written, checked by dciodvfy and highdicom, read back."""

from __future__ import annotations

import datetime
from io import BytesIO
from pathlib import Path

import highdicom as hd
import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid

from imaging.sr import (
    InvalidDocumentInput,
    LengthConcept,
    LesionKind,
    LesionStatus,
    LinearMeasurement,
    build_measurement_report,
    read_measurement_report,
    scoord_from_row_col,
)
from tests.unit.test_sr_factories import (
    caliper,
    ct_study,
    dciodvfy,
    reread,
    source_of,
    timepoint_report,
    to_bytes,
)

LIVER, NODE, BONE, NEW = (generate_uid() for _ in range(4))
LONG_RC, SHORT_RC = [(20.0, 10.0), (20.0, 40.0)], [(8.0, 25.0), (40.0, 25.0)]


def lesions(images: list[Dataset]) -> list[LinearMeasurement]:
    both = {"short_axis": scoord_from_row_col(SHORT_RC), "long_axis_mm": 24.0,
            "short_axis_mm": 16.0}
    return [
        caliper(LIVER, "T1", images[1], LONG_RC, 24.0, finding_site="liver", **both),
        caliper(NODE, "T2", images[2], LONG_RC, 16.0, finding_site="lymph node",
                nodal=True, **both),
        LinearMeasurement(tracking_uid=BONE, tracking_id="NT1", length_mm=None,
                          source=source_of(images[3]), polyline=None,
                          lesion_kind=LesionKind.NON_TARGET, status=LesionStatus.PRESENT,
                          point=(30.25, 12.5), finding_site="bone"),
        LinearMeasurement(tracking_uid=NEW, tracking_id="N1", length_mm=None,
                          source=source_of(images[0], frame=None), polyline=None,
                          lesion_kind=LesionKind.NEW, status=LesionStatus.PRESENT,
                          point=(4.0, 5.0)),
    ]


@pytest.fixture(scope="module")
def written() -> Dataset:
    images = ct_study(4)
    report = timepoint_report(images, lesions(images), timepoint_id="BL",
                              date=datetime.date(2026, 1, 5))
    return build_measurement_report(report, sop_instance_uid=generate_uid(),
                                    series_instance_uid=generate_uid())


def test_both_diameters_and_points_read_back(written: Dataset) -> None:
    imported = read_measurement_report(reread(written))
    assert imported.not_mapped == ()
    found = {(m.tracking_id, m.concept): m for m in imported.measurements}
    assert set(found) == {("T1", LengthConcept.LONG_AXIS), ("T1", LengthConcept.SHORT_AXIS),
                          ("T2", LengthConcept.LONG_AXIS), ("T2", LengthConcept.SHORT_AXIS),
                          ("NT1", None), ("N1", None)}
    for label in ("T1", "T2"):
        long_axis = found[(label, LengthConcept.LONG_AXIS)]
        short_axis = found[(label, LengthConcept.SHORT_AXIS)]
        assert (long_axis.length_mm, long_axis.polyline_rc) == (24.0, tuple(LONG_RC))
        assert (short_axis.length_mm, short_axis.polyline_rc) == (16.0, tuple(SHORT_RC))
        assert long_axis.source == short_axis.source is not None
    bone, new = found[("NT1", None)], found[("N1", None)]
    assert (bone.point_rc, bone.status, bone.lesion_kind) == (
        (12.5, 30.25), LesionStatus.PRESENT, LesionKind.NON_TARGET)
    assert bone.source is not None and bone.polyline is None and bone.length_mm is None
    assert new.point_rc == (5.0, 4.0) and new.lesion_kind is LesionKind.NEW


def test_highdicom_sees_both_axes_and_the_point(written: Dataset) -> None:
    content = hd.sr.srread(BytesIO(to_bytes(written))).content
    assert isinstance(content, hd.sr.MeasurementReport)
    # Each axis is a TID 300 row with its own line (TID 1501, as OHIF writes it).
    node = content.get_image_measurement_groups(tracking_uid=NODE)[0]
    values = {m.name.meaning: m.value for m in node.get_measurements()}
    assert values == {"Long axis": 24.0, "Short axis": 16.0}
    lines = {m.name.meaning: [list(map(float, c.GraphicData))
                              for c in m.referenced_coordinates or []]
             for m in node.get_measurements()}
    assert lines == {"Long axis": [[10.0, 20.0, 40.0, 20.0]],
                     "Short axis": [[25.0, 8.0, 25.0, 40.0]]}
    bone = content.get_planar_roi_measurement_groups(tracking_uid=BONE)[0]
    assert bone.roi is not None and bone.roi.GraphicType == "POINT"
    assert list(map(float, bone.roi.GraphicData)) == [30.25, 12.5]
    assert bone.get_measurements() == []


def test_dciodvfy_reports_no_errors(written: Dataset, tmp_path: Path) -> None:
    lines = dciodvfy(written, tmp_path)
    assert [line for line in lines if line.startswith("Error")] == [], "\n".join(lines)
    others = [line for line in lines if line.startswith("Warning") and "99NADIR" not in line]
    assert others == [], "\n".join(lines)


@pytest.mark.parametrize(("extra", "words"), [
    ({"short_axis": scoord_from_row_col(SHORT_RC)}, "both diameters"),
    ({"short_axis": scoord_from_row_col(SHORT_RC), "long_axis_mm": 24.0,
      "short_axis_mm": 16.0, "nodal": True}, "counted diameter 16.0"),
    ({"short_axis": ((1.0, 1.0), (1.0, 1.0)), "long_axis_mm": 24.0, "short_axis_mm": 16.0},
     "must differ"),
    ({"long_axis_mm": -1.0}, "finite number > 0"),
    ({"point": (3.0, 3.0)}, "no caliper"),
])
def test_invalid_axes_and_points_are_refused_naming_the_field(
        extra: dict[str, object], words: str) -> None:
    images = ct_study(1)
    with pytest.raises(InvalidDocumentInput, match=words):
        caliper(LIVER, "T1", images[0], LONG_RC, 24.0, **extra)
    with pytest.raises(InvalidDocumentInput, match="point"):
        LinearMeasurement(tracking_uid=BONE, tracking_id="NT1", length_mm=None, source=None,
                          polyline=None, lesion_kind=LesionKind.NON_TARGET,
                          status=LesionStatus.PRESENT, point=(1.0, -2.0))
