"""Bidirectional measurements and lesion points through the case API (issue 19), over HTTP
against a real Orthanc, on SQLite and PostgreSQL.

The images have anisotropic pixels (0.5 mm between rows, 0.8 mm between columns), so a
check done in pixels instead of millimetres would give other lengths and other angles.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Service
from tests.integration.test_cases import _case, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration

LONG = [[20.0, 10.0], [20.0, 40.0]]  # 30 columns x 0.8 mm = 24 mm
SHORT = [[8.0, 25.0], [40.0, 25.0]]  # 32 rows x 0.5 mm = 16 mm, perpendicular in mm
SLANTED = [[10.0, 20.0], [40.0, 30.0]]  # 15 mm down, 8 mm across: 28.1 deg off


def _url(cid: int, lesion: int, tp: str) -> str:
    return f"/api/v1/cases/{cid}/lesions/{lesion}/measurements/{tp}"


def _get(service: Service, cid: int, lesion: int, tp: str, role: str = "specialist") -> Any:
    r = service.client.get(_url(cid, lesion, tp), headers=service.headers(role))
    assert r.status_code == 200, r.text
    return r.json()


def test_both_axes_of_a_lesion_and_of_a_node(service: Service,
                                             indexed: dict[str, Any]) -> None:  # noqa: F811
    case = _case(service)
    cid, (bl, fu) = case["id"], (t["id"] for t in case["timepoints"])
    img = indexed["bl"][0].SOPInstanceUID
    liver = _lesion(service, cid, kind="target", organ="liver")
    node = _lesion(service, cid, kind="target", organ="lymph node", nodal=True)
    r = _put(service, cid, liver, bl, {"sop_instance_uid": img, "endpoints": LONG,
                                       "short_axis_endpoints": SHORT})
    assert r.status_code == 200, r.text
    got = _get(service, cid, liver, bl)
    assert {**got, "at": None} == {**r.json(), "at": None}
    assert (got["long_axis_mm"], got["short_axis_mm"], got["length_mm"]) == (24.0, 16.0, 24.0)
    assert (got["endpoints"], got["short_axis_endpoints"]) == (LONG, SHORT)
    assert got["point"] is None
    # A node counts by its short axis (RECIST 1.1 s.4.2).
    r = _put(service, cid, node, bl, {"sop_instance_uid": img, "endpoints": LONG,
                                      "short_axis_endpoints": SHORT, "length_mm": 16.2})
    assert r.status_code == 200, r.text
    assert (r.json()["long_axis_mm"], r.json()["short_axis_mm"], r.json()["length_mm"]) \
        == (24.0, 16.0, 16.0)
    # ... and may be measured by its short axis alone, given either way.
    fu_img = indexed["fu"][0].SOPInstanceUID
    for body in ({"short_axis_endpoints": SHORT}, {"endpoints": SHORT}):
        r = _put(service, cid, node, fu, {"sop_instance_uid": fu_img, **body})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["long_axis_mm"], got["short_axis_mm"], got["length_mm"]) == (None, 16.0, 16.0)
        assert got["short_axis_endpoints"] == got["endpoints"] == SHORT
    # One caliper on a non-nodal lesion is its long axis; no short axis was drawn.
    r = _put(service, cid, liver, fu, {"sop_instance_uid": fu_img, "endpoints": LONG})
    assert (r.json()["long_axis_mm"], r.json()["short_axis_mm"]) == (24.0, None)
    assert r.json()["short_axis_endpoints"] is None
    # The case's one-answer read carries the same fields.
    every = service.client.get(f"/api/v1/cases/{cid}/measurements",
                               headers=service.headers("admin")).json()["measurements"]
    assert {(m["lesion_id"], m["timepoint_id"]): m["short_axis_mm"] for m in every} == {
        (liver, bl): 16.0, (node, bl): 16.0, (node, fu): 16.0, (liver, fu): None}


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"endpoints": LONG, "short_axis_endpoints": SLANTED}, "28.1 degrees from perpendicular"),
    # Perpendicular in pixels (20 rows against 20 columns) is not perpendicular in mm.
    ({"endpoints": [[10.0, 10.0], [30.0, 30.0]],
      "short_axis_endpoints": [[10.0, 30.0], [30.0, 10.0]]}, "degrees from perpendicular"),
    ({"endpoints": [[20.0, 20.0], [20.0, 30.0]], "short_axis_endpoints": SHORT},
     "short axis (16.00 mm) is longer than the long axis (8.00 mm)"),
    ({"endpoints": LONG, "short_axis_endpoints": [[8.0, 25.0], [80.0, 25.0]]},
     "second short axis endpoint [80, 25] is outside the 64x64 image"),
    ({"endpoints": LONG, "short_axis_endpoints": [[8.0, 25.0], [8.0, 25.0]]},
     "must both have a length"),
    ({"short_axis_endpoints": SHORT}, "non-nodal lesion is measured by its long axis"),
    ({"endpoints": LONG, "short_axis_endpoints": [[8.0, 25.0]]}, "short_axis_endpoints"),
    ({"endpoints": LONG, "short_axis_endpoints": [[8.0, 25.0, 1.0], [9.0, 25.0]]},
     "short_axis_endpoints"),
    ({"endpoints": LONG, "short_axis_endpoints": [[float(i), 1.0] for i in range(10_000)]},
     "short_axis_endpoints"),
    ({"endpoints": LONG, "short_axis_endpoints": [[float(i), 1.0] for i in range(100_000)]},
     "larger than 1 MB"),
    ({"endpoints": LONG, "short_axis_endpoints": [["8", 25.0], [9.0, 25.0]]},
     "short_axis_endpoints"),
    ({"endpoints": LONG, "short_axis_endpoints": SHORT, "length_mm": 16.0},
     "length_mm 16 differs from the 24.00 mm"),
    ({"endpoints": LONG, "point": [20.0, 20.0]}, "a point goes with a status"),
]


def test_refused_bidirectional_leaves_the_reading(service: Service,
                                                  indexed: dict[str, Any]) -> None:  # noqa: F811
    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    img = indexed["bl"][0].SOPInstanceUID
    liver = _lesion(service, cid, kind="target", organ="liver")
    assert _put(service, cid, liver, bl, {"sop_instance_uid": img,
                                          "endpoints": LONG}).status_code == 200
    before = _get(service, cid, liver, bl)
    for body, words in REFUSED:
        r = _put(service, cid, liver, bl, {"sop_instance_uid": img, **body})
        assert r.status_code in (413, 422), r.text
        assert words in str(r.json()["detail"]), r.json()
    assert _get(service, cid, liver, bl) == before


def test_roles_and_images_for_both_axes(service: Service,
                                        indexed: dict[str, Any]) -> None:  # noqa: F811
    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    liver = _lesion(service, cid, kind="target", organ="liver")
    body = {"sop_instance_uid": indexed["bl"][0].SOPInstanceUID, "endpoints": LONG,
            "short_axis_endpoints": SHORT}
    for role in ("specialist", "admin", "uploader"):
        assert _put(service, cid, liver, bl, body, role=role).status_code == 403
    assert service.client.put(_url(cid, liver, bl), json=body).status_code == 401
    for other in (indexed["fu"][0], indexed["other"][0]):  # not an image of this timepoint
        r = _put(service, cid, liver, bl, {**body, "sop_instance_uid": other.SOPInstanceUID})
        assert r.status_code == 422 and "is not an instance of timepoint" in r.json()["detail"]
    r = _put(service, cid, liver, bl, {**body, "frame": 2})
    assert r.status_code == 422 and "frame 2" in r.json()["detail"]
    assert service.client.get(_url(cid, liver, bl),
                              headers=service.headers("radiologist")).status_code == 404
    assert _put(service, cid, liver, bl, body).status_code == 200
    for role in ("radiologist", "specialist", "admin"):
        assert _get(service, cid, liver, bl, role)["short_axis_mm"] == 16.0
    events = service.client.get("/api/v1/audit?patient_id=CASE-1",
                                headers=service.headers("admin")).json()["events"]
    assert [e["action"] for e in events
            if e["resource"] == f"cases/{cid}/lesions/{liver}/measurements/{bl}"].count(
        "measure") == 1


def test_undo_restores_both_axes(service: Service,
                                 indexed: dict[str, Any]) -> None:  # noqa: F811
    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    img = indexed["bl"][0].SOPInstanceUID
    liver = _lesion(service, cid, kind="target", organ="liver")
    first = _put(service, cid, liver, bl, {"sop_instance_uid": img, "endpoints": LONG,
                                           "short_axis_endpoints": SHORT}).json()
    second = _put(service, cid, liver, bl, {"sop_instance_uid": img,
                                            "endpoints": [[30.0, 10.0], [30.0, 30.0]]})
    assert second.json()["short_axis_mm"] is None
    # The workstation's undo writes the value before as a new version, "undo" its reason.
    undo = {k: first[k] for k in ("sop_instance_uid", "frame", "endpoints",
                                  "short_axis_endpoints")}
    r = _put(service, cid, liver, bl, {**undo, "reason": "undo"},
             **{"If-Match": second.headers["ETag"]})
    assert r.status_code == 200, r.text
    now = _get(service, cid, liver, bl)
    assert (now["version"], now["reason"]) == (3, "undo")
    for key in ("endpoints", "short_axis_endpoints", "long_axis_mm", "short_axis_mm",
                "length_mm"):
        assert now[key] == first[key], key
    history = service.client.get(f"/api/v1/cases/{cid}/lesions/{liver}/history",
                                 headers=service.headers("specialist")).json()
    assert [(v["measurement"]["long_axis_mm"], v["measurement"]["short_axis_mm"])
            for v in history["versions"]] == [(24.0, 16.0), (16.0, None), (24.0, 16.0)]


def test_points_of_non_target_and_new_lesions(service: Service,
                                              indexed: dict[str, Any]) -> None:  # noqa: F811
    r = service.client.post("/api/v1/cases", json={"patient_id": "CASE-1",
                                                   "criteria": "iRECIST"},
                            headers=service.headers("radiologist"))
    case = r.json()
    cid, (bl, fu) = case["id"], (t["id"] for t in case["timepoints"])
    bl_img, fu_img = indexed["bl"][1].SOPInstanceUID, indexed["fu"][2].SOPInstanceUID
    bone = _lesion(service, cid, kind="non_target", organ="bone")
    new = _lesion(service, cid, kind="new", organ="liver", timepoint=fu)
    target = _lesion(service, cid, kind="target", organ="lung")
    r = _put(service, cid, bone, bl, {"status": "present", "sop_instance_uid": bl_img,
                                      "point": [12.5, 30.25]})
    assert r.status_code == 200, r.text
    got = _get(service, cid, bone, bl)
    assert (got["status"], got["point"], got["sop_instance_uid"], got["length_mm"]) == (
        "present", [12.5, 30.25], bl_img, None)
    assert got["series_instance_uid"] == indexed["bl"][1].SeriesInstanceUID
    r = _put(service, cid, new, fu, {"status": "present", "sop_instance_uid": fu_img,
                                     "point": [40, 40], "frame": 1})
    assert r.status_code == 200 and r.json()["point"] == [40.0, 40.0], r.text
    # Without a point a status is as before; the point is then gone from the new version.
    r = _put(service, cid, bone, fu, {"status": "present"})
    assert r.status_code == 200 and r.json()["point"] is None
    refused = [
        (bone, bl, {"status": "present", "sop_instance_uid": bl_img, "point": [64.5, 3]},
         "point [64.5, 3] is outside the 64x64 image"),
        (bone, bl, {"status": "present", "sop_instance_uid": fu_img, "point": [3, 3]},
         "is not an instance of timepoint"),
        (bone, bl, {"status": "present", "sop_instance_uid": indexed["other"][0].SOPInstanceUID,
                    "point": [3, 3]}, "is not an instance of timepoint"),
        (bone, bl, {"status": "present", "point": [3, 3]}, "needs its sop_instance_uid"),
        (bone, bl, {"status": "present", "sop_instance_uid": bl_img}, "needs the point"),
        (bone, bl, {"status": "present", "sop_instance_uid": bl_img, "point": [3, 3],
                    "frame": 4}, "frame 4"),
        (bone, bl, {"status": "present", "sop_instance_uid": bl_img, "point": [3]}, "point"),
        (bone, bl, {"status": "present", "sop_instance_uid": bl_img,
                    "point": [1.0] * 100_000}, "point"),
        (bone, bl, {"status": "present", "sop_instance_uid": bl_img,
                    "point": [3, 3], "endpoints": LONG}, "either a status"),
        (bone, bl, {"sop_instance_uid": bl_img, "point": [3, 3]}, "goes with a status"),
        (target, bl, {"status": "too_small", "sop_instance_uid": bl_img, "point": [3, 3]},
         "a point marks a non-target or new lesion"),
    ]
    for lesion, tp, body, words in refused:
        r = _put(service, cid, lesion, tp, body)
        assert r.status_code in (413, 422), (body, r.text)
        assert words in str(r.json()["detail"]), (body, r.json())
    assert _get(service, cid, bone, bl)["point"] == [12.5, 30.25]
    for role in ("specialist", "admin"):
        assert _put(service, cid, bone, bl, {"status": "present", "sop_instance_uid": bl_img,
                                             "point": [1, 1]}, role=role).status_code == 403


def test_the_bidirectional_migration_goes_both_ways(database_url: str) -> None:
    """0011 gives each existing caliper the diameter it always was: a non-nodal lesion's
    long axis, a node's short axis (RECIST 1.1 s.4.2); it matches the models and goes
    back down."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0010")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (id, patient_id, criteria, baseline_study_uid, created_by, "
            "created_at) VALUES (1, 'P', 'RECIST1.1', '1.2', 'rad', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO lesions (id, case_id, kind, organ, nodal, label, equivocal, "
            "tracking_uid, created_by, created_at) VALUES "
            "(1, 1, 'target', 'lung', false, 'T1', false, '1.2.3', 'rad', CURRENT_TIMESTAMP), "
            "(2, 1, 'target', 'node', true, 'T2', false, '1.2.4', 'rad', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO measurement_versions (lesion_id, timepoint_uid, version, author, at, "
            "status, sop_instance_uid, endpoints, length_mm, source) VALUES "
            "(1, '1.2', 1, 'rad', CURRENT_TIMESTAMP, NULL, '1.9', '[[1, 2], [1, 12]]', 8.0, "
            "'manual'), "
            "(2, '1.2', 1, 'rad', CURRENT_TIMESTAMP, NULL, '1.9', '[[3, 2], [3, 22]]', 16.0, "
            "'manual'), "
            "(1, '1.3', 2, 'rad', CURRENT_TIMESTAMP, 'disappeared', NULL, NULL, 0.0, 'manual')"))
    command.upgrade(config, "head")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT lesion_id, long_axis_mm, short_axis_mm, short_axis_endpoints, point "
            "FROM measurement_versions ORDER BY lesion_id, version")).all()
        assert [(r[0], r[1], r[2], None if r[3] is None else json_of(r[3]), r[4])
                for r in rows] == [(1, 8.0, None, None, None), (1, None, None, None, None),
                                   (2, None, 16.0, [[3, 2], [3, 22]], None)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "measurement_versions" in repr(d)] == []
    command.downgrade(config, "0010")
    with engine.begin() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("measurement_versions")}
    assert not {"short_axis_endpoints", "long_axis_mm", "short_axis_mm", "point"} & columns
    command.upgrade(config, "head")
    engine.dispose()


def json_of(value: Any) -> Any:
    import json
    return json.loads(value) if isinstance(value, str) else value


def test_sr_carries_both_axes_and_the_point_and_imports_them(
        service: Service, indexed: dict[str, Any], tmp_path: Any) -> None:  # noqa: F811
    import shutil
    import subprocess
    from io import BytesIO

    import highdicom as hd
    import pydicom

    from imaging.sr import LengthConcept, read_measurement_report

    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    img, nt_img = indexed["bl"][0].SOPInstanceUID, indexed["bl"][2].SOPInstanceUID
    liver = _lesion(service, cid, kind="target", organ="liver")
    node = _lesion(service, cid, kind="target", organ="lymph node", nodal=True)
    bone = _lesion(service, cid, kind="non_target", organ="bone")
    for lesion in (liver, node):
        assert _put(service, cid, lesion, bl, {"sop_instance_uid": img, "endpoints": LONG,
                                               "short_axis_endpoints": SHORT}).status_code == 200
    assert _put(service, cid, bone, bl, {"status": "present", "sop_instance_uid": nt_img,
                                         "point": [12.5, 30.25]}).status_code == 200
    r = service.client.get(f"/api/v1/cases/{cid}/timepoints/{bl}/sr",
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    assert shutil.which("dciodvfy"), "dciodvfy missing: bash scripts/setup.sh dev installs it"
    (tmp_path / "sr.dcm").write_bytes(r.content)
    run = subprocess.run(["dciodvfy", str(tmp_path / "sr.dcm")], capture_output=True,
                         text=True, timeout=60)
    assert [ln for ln in (run.stdout + run.stderr).splitlines() if ln.startswith("Error")] == []
    content = hd.sr.srread(BytesIO(r.content)).content
    groups = content.get_image_measurement_groups()
    assert sorted(sorted((m.name.meaning, m.value) for m in g.get_measurements())
                  for g in groups) == [[("Long axis", 24.0), ("Short axis", 16.0)]] * 2
    point = [g for g in content.get_planar_roi_measurement_groups()
             if g.roi is not None and g.roi.GraphicType == "POINT"]
    assert [list(map(float, g.roi.GraphicData)) for g in point] == [[30.25, 12.5]]
    report = read_measurement_report(pydicom.dcmread(BytesIO(r.content)))
    points = [m for m in report.measurements if m.point is not None]
    assert [(m.point_rc, m.source.sop_instance_uid if m.source else None) for m in points] \
        == [((12.5, 30.25), nt_img)]
    assert sorted((m.tracking_id, m.concept) for m in report.measurements if m.concept) == [
        ("T1", LengthConcept.LONG_AXIS), ("T1", LengthConcept.SHORT_AXIS),
        ("T2", LengthConcept.LONG_AXIS), ("T2", LengthConcept.SHORT_AXIS)]
    # Imported into a fresh case, both axes come back and the node counts by its short axis.
    other = service.client.post("/api/v1/cases", json={
        "patient_id": "CASE-1", "criteria": "RECIST1.1", "allow_duplicate": True},
        headers=service.headers("radiologist")).json()
    imp = service.client.post(f"/api/v1/cases/{other['id']}/sr", content=r.content, headers={
        **service.headers("radiologist"), "Content-Type": "application/dicom"})
    assert imp.status_code == 200, imp.text
    imported = imp.json()["imported"]
    assert sorted(i["length_mm"] for i in imported if i["status"] is None) == [16.0, 24.0]
    # The non-target comes back too, by its status with its point.
    assert [(i["status"], i["length_mm"]) for i in imported if i["status"]] == [
        ("present", None)]
    every = service.client.get(f"/api/v1/cases/{other['id']}/measurements",
                               headers=service.headers("radiologist")).json()["measurements"]
    assert [(m["status"], m["point"], m["sop_instance_uid"]) for m in every if m["status"]
            ] == [("present", [12.5, 30.25], nt_img)]
    assert sorted((m["long_axis_mm"], m["short_axis_mm"], m["length_mm"], m["endpoints"],
                   m["short_axis_endpoints"]) for m in every if m["status"] is None) == [
        (24.0, 16.0, 16.0, LONG, SHORT), (24.0, 16.0, 24.0, LONG, SHORT)]


def test_report_shows_both_diameters_and_the_non_target_key_image(
        service: Service, indexed: dict[str, Any]) -> None:  # noqa: F811
    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    img = indexed["bl"][0].SOPInstanceUID
    liver = _lesion(service, cid, kind="target", organ="liver")
    bone = _lesion(service, cid, kind="non_target", organ="bone")
    assert _put(service, cid, liver, bl, {"sop_instance_uid": img, "endpoints": LONG,
                                          "short_axis_endpoints": SHORT}).status_code == 200
    assert _put(service, cid, bone, bl, {"status": "present", "sop_instance_uid": img,
                                         "point": [30, 30]}).status_code == 200
    h = service.headers("specialist")
    report = service.client.get(f"/api/v1/cases/{cid}/report?format=json", headers=h).json()
    rows = {les["label"]: les for les in report["lesions"]}
    (cell,) = rows["T1"]["measurements"]
    assert (cell["length_mm"], cell["long_axis_mm"], cell["short_axis_mm"]) == (24.0, 24.0, 16.0)
    (key,) = rows["NT1"]["key_images"]
    assert key["error"] is None and key["crop"].startswith("data:image/png;base64,")
    assert key["sop_instance_uid"] == img
    html = service.client.get(f"/api/v1/cases/{cid}/report?format=html", headers=h)
    assert html.status_code == 200 and "24.0 mm (24.0 × 16.0)" in html.text


def test_a_non_target_point_is_proposed_on_the_next_timepoint(
        service: Service, indexed: dict[str, Any]) -> None:  # noqa: F811
    case = _case(service)
    cid, (bl, fu) = case["id"], (t["id"] for t in case["timepoints"])
    bone = _lesion(service, cid, kind="non_target", organ="bone")
    assert _put(service, cid, bone, bl, {"status": "present", "point": [12.5, 30.25],
                                         "sop_instance_uid": indexed["bl"][1].SOPInstanceUID}
                ).status_code == 200
    rad = service.headers("radiologist")
    made = service.client.post("/api/v1/comparisons", headers=rad, json={
        "patient_id": "CASE-1", "baseline_study_uid": bl, "followup_study_uid": fu})
    comparison = made.json()
    paired = service.client.put(f"/api/v1/comparisons/{comparison['id']}/pairs",
                                headers={**rad, "If-Match": made.headers["ETag"]},
                                json={"pairs": [{
                                    "baseline_series_uid": indexed["bl"][0].SeriesInstanceUID,
                                    "followup_series_uid": indexed["fu"][0].SeriesInstanceUID}]})
    assert paired.status_code == 200, paired.text
    r = service.client.get(f"/api/v1/cases/{cid}/lesions/{bone}/proposal?timepoint={fu}",
                           headers=service.headers("radiologist"))
    assert r.status_code == 200, r.text
    proposal = r.json()
    assert proposal["sop_instance_uid"] in {ds.SOPInstanceUID for ds in indexed["fu"]}
    assert proposal["from_sop_instance_uid"] == indexed["bl"][1].SOPInstanceUID
    if proposal["source"] == "position":  # same geometry at both timepoints
        assert proposal["point"] == pytest.approx([12.5, 30.25], abs=0.01)
