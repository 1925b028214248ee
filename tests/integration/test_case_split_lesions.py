"""Split and coalesced lesions through the case API (RECIST 1.1 s4.3.2), over HTTP against a
real Orthanc, on SQLite and PostgreSQL.

RECIST 1.1 (Eisenhauer et al. 2009) section 4.3.2: "when non-nodal lesions 'fragment', the
longest diameters of the fragmented portions should be added together to calculate the
target lesion sum"; lesions that "have truly coalesced" are measured as one "coalesced
lesion". A split lesion is several calipers at one timepoint, summed by the server; a
coalesced one names the lesion it merged into and counts 0 mm, without having disappeared.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Service
from tests.integration.test_cases import PID, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration


def _fragment(img: str, columns: float, row: float = 2) -> dict[str, Any]:
    # Column spacing 0.8 mm: a caliper along a row of n columns measures 0.8 n mm.
    return {"sop_instance_uid": img, "endpoints": [[row, 0], [row, columns]]}


def _get(service: Service, path: str, role: str = "specialist") -> Any:
    return service.client.get(path, headers=service.headers(role))


def _setup(service: Service, indexed: dict[str, Any]) -> tuple[int, str, str, int, int, int]:  # noqa: F811
    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    bl, fu = (t["id"] for t in r.json()["timepoints"])
    t1, t2, t3 = (_lesion(service, cid, kind="target", organ="liver") for _ in range(3))
    img = indexed["bl"][0].SOPInstanceUID
    for lesion in (t1, t2, t3):  # 25 columns: 20 mm each, 60 mm in all
        assert _put(service, cid, lesion, bl, _fragment(img, 25)).status_code == 200
    return cid, bl, fu, t1, t2, t3


def test_split_and_coalesced_lesions_end_to_end(service: Service,
                                                indexed: dict[str, Any]) -> None:  # noqa: F811
    cid, bl, fu, t1, t2, t3 = _setup(service, indexed)
    fu_imgs = [ds.SOPInstanceUID for ds in indexed["fu"]]
    # T1 split into two fragments on two images: 16 + 8 mm, summed on the server.
    r = _put(service, cid, t1, fu, {"fragments": [_fragment(fu_imgs[0], 20),
                                                  {**_fragment(fu_imgs[1], 10),
                                                   "length_mm": 8.1}]})
    assert r.status_code == 200, r.text
    assert r.json()["length_mm"] == 24.0
    assert [(f["sop_instance_uid"], f["length_mm"], f["endpoints"], f["series_instance_uid"])
            for f in r.json()["fragments"]] == [
        (fu_imgs[0], 16.0, [[2.0, 0.0], [2.0, 20.0]], indexed["fu"][0].SeriesInstanceUID),
        (fu_imgs[1], 8.0, [[2.0, 0.0], [2.0, 10.0]], indexed["fu"][0].SeriesInstanceUID)]
    # T3 merged into T2, which carries the merged diameter (30 mm).
    r = _put(service, cid, t3, fu, {"coalesced_into": t2})
    assert r.status_code == 200, r.text
    assert (r.json()["coalesced_into"], r.json()["length_mm"], r.json()["status"]) == (
        t2, 0.0, None)
    assert _put(service, cid, t2, fu, _fragment(fu_imgs[2], 37.5)).status_code == 200

    # Every reader sees the same: the measurement, the case's list, the history.
    for role in ("specialist", "admin", "radiologist"):
        got = _get(service, f"/api/v1/cases/{cid}/lesions/{t1}/measurements/{fu}", role)
        assert got.status_code == 200 and len(got.json()["fragments"]) == 2
    assert _get(service, f"/api/v1/cases/{cid}/lesions/{t1}/measurements/{fu}",
                "uploader").status_code == 403
    assert service.client.get(
        f"/api/v1/cases/{cid}/lesions/{t1}/measurements/{fu}").status_code == 401
    every = _get(service, f"/api/v1/cases/{cid}/measurements").json()["measurements"]
    assert {(m["lesion_id"], m["coalesced_into"], len(m["fragments"])) for m in every
            if m["timepoint_id"] == fu} == {(t1, None, 2), (t2, None, 0), (t3, t2, 0)}

    # The response says which lesions split or merged, and counts 24 + 30 + 0 = 54 mm.
    response = _get(service, f"/api/v1/cases/{cid}/response").json()
    row = response["timepoints"][1]
    assert row["complete"] is True  # the coalesced reading counts as a reading
    assert row["sum_mm"] == 54.0
    assert row["split"] == [{"id": "T1", "lesion_id": t1, "fragments_mm": [16.0, 8.0],
                             "sum_mm": 24.0}]
    assert row["coalesced"] == [{"id": "T3", "lesion_id": t3, "into": "T2",
                                 "into_lesion_id": t2}]
    assert row["target_response"] == "SD"  # 54 against 60 mm: -10 %

    # The report, in each of its forms, says the same (key images from the real PACS).
    report = _get(service, f"/api/v1/cases/{cid}/report?format=json").json()
    cells = {les["label"]: les["measurements"][1] for les in report["lesions"]}
    assert (cells["T1"]["fragments_mm"], cells["T3"]["coalesced_into"]) == ([16.0, 8.0], "T2")
    t1_images = next(les["key_images"] for les in report["lesions"] if les["label"] == "T1")
    assert [(im["sop_instance_uid"], im["error"]) for im in t1_images
            if im["timepoint_id"] == fu] == [(fu_imgs[0], None), (fu_imgs[1], None)]
    assert report["timepoints"][1]["coalesced"][0]["into"] == "T2"
    html = _get(service, f"/api/v1/cases/{cid}/report?format=html").text
    assert "split: 16.0 + 8.0 mm (fragments)" in html and "T3 merged into T2" in html
    pdf = _get(service, f"/api/v1/cases/{cid}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # Undo: the previous version's fragments come back as a new version.
    assert _put(service, cid, t1, fu, _fragment(fu_imgs[0], 30)).status_code == 200
    again = _put(service, cid, t1, fu, {"fragments": [_fragment(fu_imgs[0], 20),
                                                      _fragment(fu_imgs[1], 10)],
                                        "reason": "undo"})
    assert again.status_code == 200, again.text
    history = _get(service, f"/api/v1/cases/{cid}/lesions/{t1}/history").json()
    assert [(v["version"], v["measurement"]["length_mm"],
             [f["length_mm"] for f in v["measurement"]["fragments"]])
            for v in history["versions"]] == [(1, 20.0, []), (2, 24.0, [16.0, 8.0]),
                                              (3, 24.0, []), (4, 24.0, [16.0, 8.0])]


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("one fragment", {"fragments": [{"sop_instance_uid": "IMG", "endpoints": [[0, 0], [0, 5]]}]},
     "fragments"),
    ("21 fragments", {"fragments": [{"sop_instance_uid": "IMG",
                                     "endpoints": [[0, 0], [0, 5]]}] * 21}, "fragments"),
    ("fragments and a status", {"status": "too_small", "fragments": [
        {"sop_instance_uid": "IMG", "endpoints": [[0, 0], [0, 5]]}] * 2}, "give one of"),
    ("no endpoints", {"fragments": [{"sop_instance_uid": "IMG"}] * 2}, "endpoints"),
    ("three points", {"fragments": [{"sop_instance_uid": "IMG",
                                     "endpoints": [[0, 0], [0, 5], [1, 1]]}] * 2}, "endpoints"),
    ("an unknown key", {"fragments": [{"sop_instance_uid": "IMG", "endpoints": [[0, 0], [0, 5]],
                                       "sum": 3}] * 2}, "sum"),
    ("a string id", {"coalesced_into": "T2"}, "coalesced_into"),
    ("a negative id", {"coalesced_into": -1}, "coalesced_into"),
    ("a huge id", {"coalesced_into": 2**63}, "coalesced_into"),
    ("a foreign image", {"fragments": [{"sop_instance_uid": "1.2.3.4",
                                        "endpoints": [[0, 0], [0, 5]]}] * 2},
     "fragments[0]: sop_instance_uid '1.2.3.4' is not an instance of timepoint"),
    ("a path as image", {"fragments": [{"sop_instance_uid": "../../studies",
                                        "endpoints": [[0, 0], [0, 5]]}] * 2}, "fragments[0]"),
]


def _with_image(body: Any, img: str) -> Any:
    """The body with "IMG" replaced by an image of the follow-up."""
    if isinstance(body, dict):
        return {key: _with_image(value, img) for key, value in body.items()}
    if isinstance(body, list):
        return [_with_image(value, img) for value in body]
    return img if body == "IMG" else body


@pytest.mark.parametrize(("name", "body", "words"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_split_or_merge_is_refused_and_nothing_is_stored(
        service: Service, indexed: dict[str, Any], name: str, body: Any,  # noqa: F811
        words: str) -> None:
    cid, _bl, fu, _t1, t2, _t3 = _setup(service, indexed)
    r = _put(service, cid, t2, fu, _with_image(body, indexed["fu"][0].SOPInstanceUID))
    assert r.status_code == 422, r.text
    assert words in str(r.json()["detail"])
    history = _get(service, f"/api/v1/cases/{cid}/lesions/{t2}/history").json()
    assert [v["timepoint_id"] for v in history["versions"]] != [] and all(
        v["timepoint_id"] != fu for v in history["versions"])


def test_merge_refusals_name_the_lesion(service: Service,
                                        indexed: dict[str, Any]) -> None:  # noqa: F811
    cid, bl, fu, t1, t2, t3 = _setup(service, indexed)
    other = service.client.post("/api/v1/cases", json={
        "patient_id": PID, "criteria": "iRECIST"}, headers=service.headers("radiologist"))
    elsewhere = _lesion(service, other.json()["id"], kind="target", organ="lung")
    gone = _lesion(service, cid, kind="target", organ="lung")
    r = service.client.request("DELETE", f"/api/v1/cases/{cid}/lesions/{gone}",
                               json={"reason": "added by mistake"},
                               headers=service.headers("radiologist"))
    assert r.status_code == 200, r.text
    for into, words in ((t2, "cannot coalesce into itself"), (gone, "was deleted"),
                        (elsewhere, "no such lesion in this case"),
                        (2**31 - 1, "no such lesion in this case")):
        r = _put(service, cid, t2, fu, {"coalesced_into": into})
        assert r.status_code == 422, r.text
        assert words in r.json()["detail"]
    r = _put(service, cid, t2, bl, {"coalesced_into": t1})
    assert r.status_code == 422 and "at baseline" in r.json()["detail"]
    # Chains and statuses: T3 into T1; then nothing merges into T3, and T1 keeps a length.
    assert _put(service, cid, t3, fu, {"coalesced_into": t1}).status_code == 200
    r = _put(service, cid, t2, fu, {"coalesced_into": t3})
    assert r.status_code == 422 and "T3 is itself recorded as coalesced" in r.json()["detail"]
    r = _put(service, cid, t1, fu, {"status": "not_evaluable"})
    assert r.status_code == 422 and "T3 coalesced into T1" in r.json()["detail"]
    r = service.client.request("DELETE", f"/api/v1/cases/{cid}/lesions/{t1}",
                               json={"reason": "wrong"}, headers=service.headers("radiologist"))
    assert r.status_code == 409 and "T3 recorded as coalesced into T1" in r.json()["detail"]
    # Until T1 is measured there, follow-up 1 waits for it: incomplete, not an error.
    response = _get(service, f"/api/v1/cases/{cid}/response")
    assert response.status_code == 200, response.text
    row = response.json()["timepoints"][1]
    assert (row["complete"], [m["label"] for m in row["missing"]]) == (False, ["T1", "T2"])
    # Only a radiologist records a split or a merge.
    for role, code in (("specialist", 403), ("admin", 403), ("uploader", 403)):
        assert _put(service, cid, t2, fu, {"coalesced_into": t1},
                    role=role).status_code == code
    assert service.client.put(f"/api/v1/cases/{cid}/lesions/{t2}/measurements/{fu}",
                              json={"coalesced_into": t1}).status_code == 401


def test_the_split_lesion_migration_goes_both_ways(database_url: str) -> None:
    """0012 adds the fragments table and ``coalesced_into``, matches the models, keeps the
    measurements already recorded, and goes back down."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0015")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (id, patient_id, criteria, baseline_study_uid, created_by, "
            "created_at) VALUES (1, 'P', 'RECIST1.1', '1.1', 'rad', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO lesions (id, case_id, kind, organ, nodal, label, equivocal, "
            "tracking_uid, created_by, created_at) VALUES (1, 1, 'target', 'liver', false, "
            "'T1', false, '2.25.1', 'rad', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO measurement_versions (id, lesion_id, timepoint_uid, version, author, "
            "at, length_mm, source) VALUES (1, 1, '1.1', 1, 'rad', CURRENT_TIMESTAMP, 20.5, "
            "'manual')"))
    command.upgrade(config, "head")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT length_mm, coalesced_into FROM measurement_versions")).all()
        assert [tuple(r) for r in rows] == [(20.5, None)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if "measurement_fragments" in repr(d)
            or "coalesced_into" in repr(d)]
    assert mine == []
    command.downgrade(config, "0015")
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        assert "coalesced_into" not in {c["name"] for c in
                                        inspector.get_columns("measurement_versions")}
        assert "measurement_fragments" not in inspector.get_table_names()
        assert conn.execute(sa.text("SELECT count(*) FROM measurement_versions")).scalar() == 1
    command.upgrade(config, "head")
    engine.dispose()
