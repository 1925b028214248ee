"""Second readings (issue 21): a case that reviews another case, on SQLite and PostgreSQL
with a real Orthanc."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Service, radiologist_tokens, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "REVIEW-1"


def test_the_review_migration_goes_both_ways(database_url: str) -> None:
    """0017 adds review_of, reader, blinded, timepoint_map and the adjudications table,
    matches the models, keeps the cases already there (primary cases) and goes back."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0016")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (id, patient_id, criteria, baseline_study_uid, created_by, "
            "created_at) VALUES (1, 'P', 'RECIST1.1', '1.1', 'rad', CURRENT_TIMESTAMP)"))
    command.upgrade(config, "0017")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT review_of, reader, blinded, timepoint_map FROM cases")).all()
        assert [tuple(r) for r in rows] == [(None, None, False, None)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # (The shares table of 0020 has a blinded column too: not this revision's.)
    diffs = [d for d in diffs if "Table('shares'" not in repr(d)]
    mine = [d for d in diffs if "adjudications" in repr(d) or "review_of" in repr(d)
            or "'reader'" in repr(d) or "blinded" in repr(d) or "timepoint_map" in repr(d)]
    assert mine == []
    command.downgrade(config, "0016")
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        assert not {"review_of", "reader", "blinded", "timepoint_map"} & {
            c["name"] for c in inspector.get_columns("cases")}
        assert "adjudications" not in inspector.get_table_names()
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar() == 1
    command.upgrade(config, "head")
    engine.dispose()


@pytest.fixture
def studies(service: Service, orthanc: Any, tmp_path: Path) -> list[str]:
    """A baseline and a follow-up of one patient."""
    bl = tiny_ct_series(2, patient_id=PID, study_date="20260105")
    fu = tiny_ct_series(2, patient_id=PID, study_date="20260302")
    storescu(orthanc, write_all(bl, tmp_path / "bl") + write_all(fu, tmp_path / "fu"))

    def ready() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and len(r.json()) == 2

    wait_until(ready, timeout=60)
    return [bl[0].StudyInstanceUID, fu[0].StudyInstanceUID]


def test_the_case_json_says_whether_a_case_is_a_review(service: Service,
                                                      studies: list[str]) -> None:
    from api.adapters.sql_store import SqlCaseStore
    from api.workflow.reviews import new_review

    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    primary = r.json()
    assert (primary["review_of"], primary["reader"], primary["blinded"]) == (None, None, False)
    with service.app.state.sessions() as session:
        store = SqlCaseStore(session)
        case = store.case(primary["id"])
        assert case is not None
        review = new_review(case, reader="other-radiologist", blinded=True,
                            created_by="admin-user")
        store.add(review)
        store.commit()
        review_id = review.id
    for role in ("radiologist", "specialist", "admin"):
        got = service.client.get(f"/api/v1/cases/{review_id}", headers=service.headers(role))
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body["review_of"], body["reader"], body["blinded"]) \
            == (primary["id"], "other-radiologist", True)
        assert [t["id"] for t in body["timepoints"]] == studies
        assert [t["id"] for t in body["timepoints"]] == [t["id"] for t in primary["timepoints"]]
    listed = service.client.get(f"/api/v1/cases?patient_id={PID}",
                                headers=service.headers("specialist")).json()
    assert [(c["id"], c["review_of"], c["reader"], c["blinded"]) for c in listed] == [
        (review_id, primary["id"], "other-radiologist", True),
        (primary["id"], None, None, False)]


# -- a case read twice ----------------------------------------------------------------------
# Target T1 drawn by both readers on the same images, a little apart; the reviewer also
# chooses T2, which the primary reader left out. Sums (mm):
#   primary  bl 30, fu1 20 (-33 %: PR), fu2 20 (PR)
#   review   bl 45, fu1 40 (-11 %: SD), fu2 25 (-44 %: PR)
# so the readings disagree at fu1 only.
PRIMARY_T1 = {0: 30, 1: 20, 2: 20}
REVIEW_T1 = {0: 30, 1: 25, 2: 20}
REVIEW_T2 = {0: 15, 1: 15, 2: 5}
EXTRA_RADIOLOGISTS = ("second-reader", "third-reader", "fourth-reader")


@dataclass
class ReadTwice:
    service: Service
    tokens: dict[str, str]
    timepoints: list[str]
    images: list[str]  # one image per timepoint
    primary: int
    t1: int

    def headers(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        token = self.tokens.get(who) or self.service.tokens[who]
        return {"Authorization": f"Bearer {token}"}

    def get(self, path: str, who: str | None) -> Any:
        return self.service.client.get(path, headers=self.headers(who))

    def post(self, path: str, body: Any, who: str | None) -> Any:
        return self.service.client.post(path, json=body, headers=self.headers(who))


def _caliper(img: str, row: int, col: int, length: int) -> dict[str, Any]:
    return {"sop_instance_uid": img, "endpoints": [[row, col], [row, col + length]]}


def _read(world: ReadTwice, case_id: int, who: str, lesions: dict[str, tuple[dict[int, int],
                                                                             int, int]]
          ) -> dict[str, int]:
    """Add the lesions, measure each at every timepoint, sign every timepoint off."""
    ids = {}
    for label, (lengths, row, col) in lesions.items():
        r = world.post(f"/api/v1/cases/{case_id}/lesions",
                       {"kind": "target", "organ": "liver", "label": label}, who)
        assert r.status_code == 201, r.text
        ids[label] = r.json()["id"]
        for i, tp in enumerate(world.timepoints):
            put = world.service.client.put(
                f"/api/v1/cases/{case_id}/lesions/{ids[label]}/measurements/{tp}",
                json=_caliper(world.images[i], row, col, lengths[i]), headers=world.headers(who))
            assert put.status_code in (200, 201), put.text
    for tp in world.timepoints:
        r = world.post(f"/api/v1/cases/{case_id}/timepoints/{tp}/sign-off", {}, who)
        assert r.status_code == 200, r.text
    return ids


@pytest.fixture
def read_once(service: Service, orthanc: Any, tmp_path: Path,
              request: pytest.FixtureRequest) -> ReadTwice:
    """Three timepoints (64 x 64 images, 1 mm pixels), read and signed off by
    radiologist-user; three more radiologists with tokens. An indirect parameter adds to
    the case's creation body (its best-overall-response options)."""
    series = [tiny_ct_series(1, patient_id=PID, study_date=d, size=64, spacing=(1.0, 1.0))
              for d in ("20260105", "20260302", "20260504")]
    files = [f for i, s in enumerate(series) for f in write_all(s, tmp_path / f"s{i}")]
    storescu(orthanc, files)
    tokens = radiologist_tokens(service.app, EXTRA_RADIOLOGISTS)

    def ready() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and len(r.json()) == 3

    wait_until(ready, timeout=60)
    r = service.client.post("/api/v1/cases", json={
        "patient_id": PID, "criteria": "RECIST1.1", **getattr(request, "param", {})},
        headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    world = ReadTwice(service, tokens, [s[0].StudyInstanceUID for s in series],
                      [s[0].SOPInstanceUID for s in series], r.json()["id"], 0)
    world.t1 = _read(world, world.primary, "radiologist", {"T1": (PRIMARY_T1, 20, 10)})["T1"]
    return world


def _review(world: ReadTwice, reader: str = "second-reader", *, blinded: bool = True,
            who: str = "radiologist") -> Any:
    return world.post(f"/api/v1/cases/{world.primary}/reviews",
                      {"reader": reader, "blinded": blinded}, who)


def test_a_review_is_asked_for_by_a_radiologist_or_admin(read_once: ReadTwice) -> None:
    world = read_once
    p = world.primary
    # A reviewer token without a share of its own reaches nothing (the share's rules).
    for who, code in (("specialist", 403), ("uploader", 403), ("reviewer", 403), (None, 401)):
        r = _review(world, who=who)  # type: ignore[arg-type]
        assert r.status_code == code, (who, r.text)
        assert r.json()["detail"]
    r = _review(world)
    assert r.status_code == 201, r.text
    review = r.json()
    assert (review["review_of"], review["reader"], review["blinded"]) \
        == (p, "second-reader", True)
    assert [t["id"] for t in review["timepoints"]] == world.timepoints
    assert review["lesions"] == [] and all(t["signed_off_by"] is None
                                           for t in review["timepoints"])
    r = _review(world, "fourth-reader", blinded=False, who="admin")
    assert r.status_code == 201 and r.json()["blinded"] is False
    audit = world.get(f"/api/v1/audit?patient_id={PID}", "admin").json()
    assert [e["resource"] for e in audit["events"] if e["action"] == "create_review"] \
        == [f"cases/{p}/reviews/{review['id']}", f"cases/{p}/reviews/{r.json()['id']}"]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"reader": "nobody"}, 422, "no user named 'nobody'"),
    ({"reader": "specialist-user"}, 422, "is a specialist, not a radiologist"),
    ({"reader": "radiologist-user"}, 422, "read case"),
    ({"reader": "x" * 129}, 422, "reader"),
    ({"reader": ""}, 422, "reader"),
    ({}, 422, "reader"),
    ({"reader": "second-reader", "blinded": "yes"}, 422, "blinded"),
    ({"reader": "second-reader", "colour": "red"}, 422, "colour"),
    ({"reader": "second\x00reader"}, 422, "NUL"),
])
def test_a_review_names_what_is_wrong_with_its_request(read_once: ReadTwice, body: Any,
                                                       status: int, words: str) -> None:
    r = read_once.post(f"/api/v1/cases/{read_once.primary}/reviews", body, "radiologist")
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_a_review_is_of_a_known_primary_case_and_once_per_reader(read_once: ReadTwice
                                                                 ) -> None:
    world = read_once
    review = _review(world).json()["id"]
    again = _review(world)
    assert again.status_code == 422 and "already reads a review" in again.json()["detail"]
    nested = world.post(f"/api/v1/cases/{review}/reviews", {"reader": "third-reader"},
                        "radiologist")
    assert nested.status_code == 422 and "itself a review" in nested.json()["detail"]
    for cid, code in ((999999, 404), (0, 422), (2**63, 422)):
        r = world.post(f"/api/v1/cases/{cid}/reviews", {"reader": "third-reader"},
                       "radiologist")
        assert r.status_code == code, r.text
    # A review's reading is its reader's alone.
    other = world.post(f"/api/v1/cases/{review}/lesions",
                       {"kind": "target", "organ": "liver"}, "radiologist")
    assert other.status_code == 403 and "only its reader" in other.json()["detail"]


def _blinded_routes(world: ReadTwice) -> list[tuple[str, str]]:
    """Every route that shows a case's lesions, measurements, response or report."""
    p, t1, tp = world.primary, world.t1, world.timepoints[1]
    return [
        ("GET", f"/api/v1/cases/{p}"),
        ("GET", f"/api/v1/cases/{p}/lesions"),
        ("GET", f"/api/v1/cases/{p}/lesions?include_deleted=true"),
        ("GET", f"/api/v1/cases/{p}/lesions/{t1}/measurements/{tp}"),
        ("GET", f"/api/v1/cases/{p}/lesions/{t1}/history"),
        ("GET", f"/api/v1/cases/{p}/lesions/{t1}/proposal?timepoint={tp}"),
        ("GET", f"/api/v1/cases/{p}/measurements"),
        ("GET", f"/api/v1/cases/{p}/response"),
        ("GET", f"/api/v1/cases/{p}/report?format=json"),
        ("GET", f"/api/v1/cases/{p}/report?format=html"),
        ("GET", f"/api/v1/cases/{p}/report?format=pdf"),
        ("GET", f"/api/v1/cases/{p}/timepoints/{tp}/sr"),
        ("GET", f"/api/v1/cases/{p}/publications"),
        ("GET", f"/api/v1/cases/{p}/sr-drafts"),
        ("GET", f"/api/v1/cases/{p}/events"),
        ("GET", f"/api/v1/cases/{p}/readings"),
        ("PUT", f"/api/v1/cases/{p}/lesions/{t1}/measurements/{tp}"),
        ("POST", f"/api/v1/cases/{p}/lesions"),
        ("POST", f"/api/v1/cases/{p}/timepoints/{tp}/sign-off"),
        ("POST", f"/api/v1/cases/{p}/publish"),
    ]


def _call(world: ReadTwice, method: str, path: str, who: str) -> Any:
    body = {"kind": "target", "organ": "lung"} if path.endswith("/lesions") else \
        _caliper(world.images[1], 20, 10, 22) if method == "PUT" else {}
    if path.endswith("/events"):
        with world.service.client.stream(method, path, headers=world.headers(who)) as r:
            return r.status_code, "" if r.status_code == 200 else r.read().decode()
    r = world.service.client.request(method, path, headers=world.headers(who),
                                     json=body if method != "GET" else None)
    return r.status_code, r.text


def test_the_blinded_reader_sees_no_part_of_the_primary_reading(read_once: ReadTwice
                                                                ) -> None:
    world = read_once
    review = _review(world).json()["id"]
    for method, path in _blinded_routes(world):
        status, text = _call(world, method, path, "second-reader")
        assert status == 403, (method, path, status, text[:200])
        assert f"blinded review: second-reader reads case {review}" in text, (path, text)
    # Nor in the worklist; their own review they see and read; others see the primary.
    listed = world.get("/api/v1/worklist", "second-reader").json()
    assert [c["id"] for c in listed["cases"]] == [review]
    listed = world.get("/api/v1/worklist", "third-reader").json()
    assert sorted(c["id"] for c in listed["cases"]) == [world.primary, review]
    assert world.get(f"/api/v1/cases/{review}", "second-reader").status_code == 200
    for who in ("radiologist", "specialist", "admin", "third-reader"):
        assert world.get(f"/api/v1/cases/{world.primary}/response", who).status_code == 200
    # Signed off at two timepoints of three: still blinded.
    ids = _read_review_partly(world, review)
    assert world.get(f"/api/v1/cases/{world.primary}/response",
                     "second-reader").status_code == 403
    r = world.post(f"/api/v1/cases/{review}/timepoints/{world.timepoints[2]}/sign-off", {},
                   "second-reader")
    assert r.status_code == 200, r.text
    # Signed off everywhere: the blind is lifted (some routes answer otherwise for reasons
    # of their own: no pairing for a proposal, nothing published yet).
    for method, path in _blinded_routes(world):
        if method == "GET":
            status, text = _call(world, method, path, "second-reader")
            assert status != 403 and "blinded review" not in text, (path, status, text[:200])
    listed = world.get("/api/v1/worklist", "second-reader").json()
    assert sorted(c["id"] for c in listed["cases"]) == [world.primary, review]
    for path in ("", "/response", "/measurements", "/report?format=json", "/readings"):
        r = world.get(f"/api/v1/cases/{world.primary}{path}", "second-reader")
        assert r.status_code == 200, (path, r.text[:200])
    assert ids


def _read_review_partly(world: ReadTwice, review: int) -> dict[str, int]:
    """The reviewer's reading, signed off at the first two timepoints only."""
    ids = {}
    for label, lengths, row, col in (("T1", REVIEW_T1, 22, 10), ("T2", REVIEW_T2, 50, 5)):
        r = world.post(f"/api/v1/cases/{review}/lesions",
                       {"kind": "target", "organ": "liver", "label": label}, "second-reader")
        assert r.status_code == 201, r.text
        ids[label] = r.json()["id"]
        for i, tp in enumerate(world.timepoints):
            put = world.service.client.put(
                f"/api/v1/cases/{review}/lesions/{ids[label]}/measurements/{tp}",
                json=_caliper(world.images[i], row, col, lengths[i]),
                headers=world.headers("second-reader"))
            assert put.status_code in (200, 201), put.text
    for tp in world.timepoints[:2]:
        r = world.post(f"/api/v1/cases/{review}/timepoints/{tp}/sign-off", {}, "second-reader")
        assert r.status_code == 200, r.text
    return ids


@pytest.fixture
def read_twice(read_once: ReadTwice) -> tuple[ReadTwice, int]:
    """read_once with a blinded review by second-reader, signed off everywhere."""
    world = read_once
    review = _review(world).json()["id"]
    _read_review_partly(world, review)
    r = world.post(f"/api/v1/cases/{review}/timepoints/{world.timepoints[2]}/sign-off", {},
                   "second-reader")
    assert r.status_code == 200, r.text
    return world, review


def test_the_readings_side_by_side(read_twice: tuple[ReadTwice, int]) -> None:
    world, review = read_twice
    bl, fu1, fu2 = world.timepoints
    for who, code in (("radiologist", 200), ("specialist", 200), ("admin", 200),
                      ("second-reader", 200), ("uploader", 403), ("reviewer", 403),
                      (None, 401)):
        r = world.get(f"/api/v1/cases/{world.primary}/readings", who)
        assert r.status_code == code, (who, r.text)
    body = world.get(f"/api/v1/cases/{world.primary}/readings", "specialist").json()
    assert body["pending_reviews"] == []
    [cmp] = body["reviews"]
    assert (cmp["review_case_id"], cmp["reader"], cmp["blinded"]) \
        == (review, "second-reader", True)
    rows = {t["timepoint_id"]: t for t in cmp["timepoints"]}
    assert list(rows) == [bl, fu1, fu2]
    assert [(rows[tp]["primary"]["sum_mm"], rows[tp]["review"]["sum_mm"]) for tp in rows] \
        == [(30, 45), (20, 40), (20, 25)]
    assert [(rows[tp]["primary"]["overall_response"], rows[tp]["review"]["overall_response"],
             rows[tp]["agree"]) for tp in rows] \
        == [(None, None, None), ("PR", "SD", False), ("PR", "PR", True)]
    assert rows[fu1]["review"]["change_from_baseline_pct"] == pytest.approx(-11.1, abs=0.1)
    assert rows[fu1]["primary"]["nadir_mm"] == 30
    # T1 matched at every timepoint: midpoints (20, 10 + len/2) and (22, 10 + len'/2), so
    # 2 mm apart where the lengths agree, hypot(2, 2.5) = 3.2 mm at fu1 (20 vs 25 mm).
    # T2 is the reviewer's alone.
    matched = cmp["lesions"]["matched"]
    assert [(m["timepoint_id"], m["primary"]["label"], m["review"]["label"],
             m["difference_mm"], m["distance_mm"]) for m in matched] == [
        (bl, "T1", "T1", 0.0, 2.0), (fu1, "T1", "T1", 5.0, 3.2), (fu2, "T1", "T1", 0.0, 2.0)]
    assert cmp["lesions"]["primary_only"] == []
    assert [(x["timepoint_id"], x["label"], x["length_mm"])
            for x in cmp["lesions"]["review_only"]] == [(bl, "T2", 15), (fu1, "T2", 15),
                                                        (fu2, "T2", 5)]
    assert cmp["summary"] == {
        "timepoints_compared": 2, "timepoints_agreeing": 1, "agreement": 0.5,
        "primary_best_overall_response": "PR", "review_best_overall_response": "PR",
        "best_overall_response_agree": True}
    assert [(f["timepoint_id"], f["overall_response"], f["source"]) for f in body["final"]] \
        == [(bl, None, "primary"), (fu1, "PR", "adjudication_pending"), (fu2, "PR", "agreed")]
    # The review's own id is not where readings are asked for; unknown cases are 404.
    r = world.get(f"/api/v1/cases/{review}/readings", "admin")
    assert r.status_code == 409 and f"readings are those of case {world.primary}" \
        in r.json()["detail"]
    assert world.get("/api/v1/cases/999999/readings", "admin").status_code == 404
    assert world.get("/api/v1/cases/abc/readings", "admin").status_code == 422


def test_adjudication_by_a_third_reader_decides_where_readings_differ(
        read_twice: tuple[ReadTwice, int]) -> None:
    world, review = read_twice
    bl, fu1, fu2 = world.timepoints
    path = f"/api/v1/cases/{world.primary}/adjudication"
    choose_review = {"timepoint_id": fu1, "chosen_case_id": review,
                     "reason": "T1 at fu1 is 25 mm on the arterial phase"}
    for who, code, words in (
            ("radiologist", 403, "read case"), ("second-reader", 403, f"reads case {review}"),
            ("specialist", 403, "needs one of"), ("uploader", 403, "needs one of"),
            ("reviewer", 403, ""), (None, 401, "bearer")):
        r = world.post(path, choose_review, who)
        assert r.status_code == code, (who, r.text)
        assert words in r.json()["detail"], (who, r.text)
    for body, code, words in (
            ({**choose_review, "timepoint_id": fu2}, 409, "agree"),
            ({**choose_review, "timepoint_id": bl}, 409, "not both complete"),
            ({**choose_review, "timepoint_id": "1.2.3"}, 404, "unknown timepoint"),
            ({**choose_review, "chosen_case_id": 999999}, 422, "not one of the readings"),
            ({**choose_review, "reason": ""}, 422, "reason"),
            ({**choose_review, "reason": "x" * 2001}, 422, "reason"),
            ({**choose_review, "reason": "   "}, 422, "reason"),
            ({**choose_review, "chosen_case_id": "two"}, 422, "chosen_case_id"),
            ({**choose_review, "extra": 1}, 422, "extra"),
            ({k: v for k, v in choose_review.items() if k != "reason"}, 422, "reason")):
        r = world.post(path, body, "third-reader")
        assert r.status_code == code, (body, r.text)
        assert words in r.json()["detail"], (body, r.text)
    assert world.post("/api/v1/cases/999999/adjudication", choose_review,
                      "third-reader").status_code == 404
    r = world.post(f"/api/v1/cases/{review}/adjudication", choose_review, "third-reader")
    assert r.status_code == 409, r.text

    before = world.get(f"/api/v1/cases/{world.primary}/report?format=json", "specialist")
    assert [(r["final_response"], r["final_source"]) for r in
            before.json()["second_reading"]] == [("PR", "adjudication_pending"),
                                                 ("PR", "agreed")]
    r = world.post(path, choose_review, "third-reader")
    assert r.status_code == 201, r.text
    report = world.get(f"/api/v1/cases/{world.primary}/report?format=json", "specialist")
    assert report.json()["second_reading"][0]["final_response"] == "SD"
    assert r.json()["adjudication"]["adjudicated_by"] == "third-reader"
    final = {f["timepoint_id"]: f for f in r.json()["readings"]["final"]}
    assert (final[fu1]["overall_response"], final[fu1]["source"]) == ("SD", "adjudicated")
    assert final[fu1]["adjudication"]["reason"] == choose_review["reason"]
    # A later decision (an admin's) counts; both are kept.
    r = world.post(path, {**choose_review, "chosen_case_id": world.primary,
                          "reason": "consensus meeting"}, "admin")
    assert r.status_code == 201, r.text
    body = world.get(f"/api/v1/cases/{world.primary}/readings", "specialist").json()
    final = {f["timepoint_id"]: f for f in body["final"]}
    assert (final[fu1]["overall_response"], final[fu1]["source"]) == ("PR", "adjudicated")
    assert [(a["chosen_case_id"], a["adjudicated_by"]) for a in body["adjudications"]] == [
        (review, "third-reader"), (world.primary, "admin-user")]
    # Read back later, each time keeps its zone on SQLite as on PostgreSQL (UtcDateTime).
    assert [a["adjudicated_at"][-6:] for a in body["adjudications"]] == ["+00:00"] * 2, body
    # The report shows both readings, the disagreement and the choice that counts.
    report = world.get(f"/api/v1/cases/{world.primary}/report?format=json", "specialist")
    assert report.status_code == 200, report.text
    assert [(r["timepoint_id"], r["primary_response"], r["review_response"], r["agree"],
             r["final_response"], r["final_source"], r["adjudicated_by"],
             r["adjudication_reason"]) for r in report.json()["second_reading"]] == [
        (fu1, "PR", "SD", False, "PR", "adjudicated", "admin-user", "consensus meeting"),
        (fu2, "PR", "PR", True, "PR", "agreed", None, None)]
    html = world.get(f"/api/v1/cases/{world.primary}/report?format=html", "specialist").text
    assert "Second reading" in html and "the readings disagree" in html
    assert "adjudicated by admin-user, who chose the primary reading: consensus meeting" \
        in html
    _pdf_says(world.get(f"/api/v1/cases/{world.primary}/report?format=pdf",
                        "specialist").content, "Second reading", "consensus meeting")
    audit = world.get(f"/api/v1/audit?patient_id={PID}", "admin").json()
    assert [e["user"] for e in audit["events"] if e["action"] == "adjudicate"] == [
        "third-reader", "admin-user"]


def test_agreement_over_every_case_read_twice(read_twice: tuple[ReadTwice, int]) -> None:
    world, _ = read_twice
    for who, code in (("radiologist", 200), ("specialist", 200), ("admin", 200),
                      ("uploader", 403), ("reviewer", 403), (None, 401)):
        r = world.get("/api/v1/readings/agreement", who)
        assert r.status_code == code, (who, r.text)
    body = world.get("/api/v1/readings/agreement", "specialist").json()
    # Pairs (PR, SD) and (PR, PR): p_o = 1/2, p_e = (2 * 1 + 0 * 1) / 4 = 1/2, kappa 0.
    assert (body["cases"], body["reviews"], body["timepoints_compared"],
            body["timepoints_agreeing"], body["proportion"], body["kappa"]) \
        == (1, 1, 2, 1, 0.5, 0.0)
    assert body["table"] == [{"primary": "PR", "review": "PR", "count": 1},
                             {"primary": "PR", "review": "SD", "count": 1}]
    assert world.get("/api/v1/readings/agreement?x=1", "admin").status_code == 200


def _pdf_says(pdf: bytes, *words: str) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True, timeout=60).stdout.decode()
    for w in words:
        assert w in text, w


def test_the_blinded_reader_fetches_no_published_result_through_the_image_proxy(
        read_once: ReadTwice) -> None:
    """The primary's SR and PDF, once published into Orthanc, are not served to the blinded
    reader by /dicom-web/ (their series, or the whole study that holds them); the images
    and searches are."""
    from api.adapters.sql_store import SqlCaseStore

    world = read_once
    r = world.post(f"/api/v1/cases/{world.primary}/publish", {}, "radiologist")
    assert r.status_code == 201, r.text
    with world.service.app.state.sessions() as session:
        published = [(p.kind, p.study_instance_uid, p.series_instance_uid)
                     for p in SqlCaseStore(session).publications(world.primary)]
    assert {kind for kind, _, _ in published} == {"sr", "pdf"}
    review = _review(world).json()["id"]
    images = world.get(f"/api/v1/patients/{PID}/studies", "admin").json()
    image_series = {st["study_instance_uid"]: [s["series_instance_uid"] for s in st["series"]
                                               if s["modality"] == "CT"] for st in images}

    def fetch(path: str, who: str) -> Any:
        return world.get(f"/dicom-web/{path}", who)

    for kind, study, series in published:
        refused = fetch(f"studies/{study}/series/{series}/metadata", "second-reader")
        assert refused.status_code == 403, (kind, refused.text)
        assert refused.json()["detail"].startswith("blinded review: second-reader")
        assert fetch(f"studies/{study}", "second-reader").status_code == 403
        assert fetch(f"studies/{study}/series", "second-reader").status_code == 200
        [ct] = image_series[study]
        assert fetch(f"studies/{study}/series/{ct}/metadata", "second-reader").status_code \
            == 200
        assert fetch(f"studies/{study}/series/{series}/metadata", "third-reader").status_code \
            == 200
    _read_review_partly(world, review)
    r = world.post(f"/api/v1/cases/{review}/timepoints/{world.timepoints[2]}/sign-off", {},
                   "second-reader")
    assert r.status_code == 200, r.text
    for _, study, series in published:
        assert fetch(f"studies/{study}/series/{series}/metadata", "second-reader"
                     ).status_code == 200


def _final(world: ReadTwice, who: str = "specialist") -> tuple[list[Any], Any]:
    """Each timepoint's (overall_response, final) of GET .../response, and the final best."""
    r = world.get(f"/api/v1/cases/{world.primary}/response", who)
    assert r.status_code == 200, r.text
    body = r.json()
    return [(t.get("overall_response"), t["final"])
            for t in body["timepoints"]], body["final_best_overall_response"]


def _counts(final: Any) -> Any:
    return None if final is None else (final["overall_response"], final["source"])


# With confirmation (RECIST 1.1 s4.6, Table 3): the primary's PR at fu1 is confirmed by its
# PR at fu2 (63 days later), best PR. Adjudicated to the review's SD at fu1, the PR at fu2
# has nothing after it to confirm it: it counts as SD (fu2 is 119 days after baseline, past
# the 42-day SD minimum), so the best over the responses that count is SD.
@pytest.mark.parametrize("read_once", [{"confirmation_required": True}], indirect=True)
def test_adjudication_changes_the_case_response_and_its_best_overall_response(
        read_once: ReadTwice) -> None:
    world = read_once
    bl, fu1, fu2 = world.timepoints
    # Read once (a review asked for but not signed off everywhere): no final response.
    review = _review(world, blinded=False).json()["id"]
    rows, best = _final(world)
    assert [final for _, final in rows] == [None, None, None] and best is None
    _read_review_partly(world, review)
    assert _final(world)[0][1][1] is None
    r = world.post(f"/api/v1/cases/{review}/timepoints/{fu2}/sign-off", {}, "second-reader")
    assert r.status_code == 200, r.text

    rows, best = _final(world)
    assert [(own, _counts(final)) for own, final in rows] == [
        (None, (None, "primary")), ("PR", ("PR", "adjudication_pending")),
        ("PR", ("PR", "agreed"))]
    assert all(final["adjudication"] is None for _, final in rows)
    # While nothing is adjudicated the responses that count are the primary's: same best.
    body = world.get(f"/api/v1/cases/{world.primary}/response", "admin").json()
    assert (body["best_overall_response"], best) == ("PR", "PR")
    # The review's own response is its reading: no final there.
    own = world.get(f"/api/v1/cases/{review}/response", "second-reader").json()
    assert [t["final"] for t in own["timepoints"]] == [None, None, None]
    assert own["final_best_overall_response"] is None and own["best_overall_response"] == "SD"

    path = f"/api/v1/cases/{world.primary}/adjudication"
    r = world.post(path, {"timepoint_id": fu1, "chosen_case_id": review,
                          "reason": "T1 is 25 mm at fu1"}, "third-reader")
    assert r.status_code == 201, r.text
    # (As GET .../readings gives it: SQLite gives the time back without its offset.)
    [decision] = world.get(f"/api/v1/cases/{world.primary}/readings",
                           "admin").json()["adjudications"]
    assert decision["chosen_case_id"] == review
    for who in ("radiologist", "specialist", "admin", "second-reader", "third-reader"):
        rows, best = _final(world, who)
        # The engine's own verdicts are unchanged; the response that counts is the review's.
        assert [(own, _counts(final)) for own, final in rows] == [
            (None, (None, "primary")), ("PR", ("SD", "adjudicated")), ("PR", ("PR", "agreed"))]
        assert rows[1][1]["adjudication"] == decision
        assert best == "SD", who
    for who, code in (("uploader", 403), ("reviewer", 403), (None, 401)):
        assert world.get(f"/api/v1/cases/{world.primary}/response", who).status_code == code
    body = world.get(f"/api/v1/cases/{world.primary}/response", "admin").json()
    assert body["best_overall_response"] == "PR"  # the primary reading's, as before

    # The report: JSON timepoints as the response, the HTML and PDF timepoint table.
    report = world.get(f"/api/v1/cases/{world.primary}/report?format=json", "specialist").json()
    assert [t["final"] for t in report["timepoints"]] == [final for _, final in rows]
    assert (report["best_overall_response"], report["final_best_overall_response"]) \
        == ("PR", "SD")
    html = world.get(f"/api/v1/cases/{world.primary}/report?format=html", "specialist").text
    table = html[html.index('<table class="grid timepoints read-twice">'):]
    table = table[:table.index("</table>")]
    assert 'class="counts">Counts' in table
    cells = [c.split("</td>")[0] for c in table.split('<td class="counts">')[1:]]
    assert ["adjudicated" in c and ">SD<" in c for c in cells] == [False, True, False]
    assert "readings agree" in cells[2] and ">PR<" in cells[2]
    assert "over the responses that count: <strong>SD</strong>" in html
    _pdf_says(world.get(f"/api/v1/cases/{world.primary}/report?format=pdf",
                        "specialist").content, "Counts", "over the responses that count")

    # An admin's later decision for the primary reading counts: PR confirmed again.
    r = world.post(path, {"timepoint_id": fu1, "chosen_case_id": world.primary,
                          "reason": "consensus"}, "admin")
    assert r.status_code == 201, r.text
    rows, best = _final(world)
    assert (_counts(rows[1][1]), best) == (("PR", "adjudicated"), "PR")
    assert rows[1][1]["adjudication"]["adjudicated_by"] == "admin-user"
    assert bl


def test_a_case_read_once_has_no_final_response(read_once: ReadTwice) -> None:
    world = read_once
    for who in ("radiologist", "specialist", "admin"):
        rows, best = _final(world, who)
        assert [final for _, final in rows] == [None, None, None] and best is None
    report = world.get(f"/api/v1/cases/{world.primary}/report?format=json", "admin").json()
    assert [t["final"] for t in report["timepoints"]] == [None, None, None]
    assert report["final_best_overall_response"] is None
    html = world.get(f"/api/v1/cases/{world.primary}/report?format=html", "admin").text
    assert 'class="counts"' not in html and "responses that count" not in html


def test_agreement_loads_only_the_cases_read_twice(read_twice: tuple[ReadTwice, int]
                                                   ) -> None:
    """Many cases without a review, or with a review signed off nowhere, are not loaded,
    and the number of statements does not grow with them."""
    from sqlalchemy import event

    from api.adapters.sql_store import SqlCaseStore
    from api.db.models import Case
    from api.workflow.case_reader import CaseReader
    from api.workflow.reviews import new_review
    from api.workflow.roles import Principal, Role
    from api.workflow.second_reading import SecondReadings

    world, review = read_twice
    before = world.get("/api/v1/readings/agreement", "specialist").json()
    state = world.service.app.state

    def counted() -> tuple[set[int], int]:
        loaded: set[int] = set()
        statements = 0

        def on_load(target: Any, _: Any) -> None:
            loaded.add(target.id)

        def on_execute(_: Any) -> None:
            nonlocal statements
            statements += 1

        with state.sessions() as session:
            event.listen(Case, "load", on_load)
            event.listen(session, "do_orm_execute", on_execute)
            try:
                service = SecondReadings(CaseReader(SqlCaseStore(session)), state.pacs)
                service.agreement(Principal(0, "specialist-user", Role.SPECIALIST))
            finally:
                event.remove(Case, "load", on_load)
        return loaded, statements

    loaded, few = counted()
    assert loaded == {world.primary, review}
    with state.sessions() as session:
        store = SqlCaseStore(session)
        primary = store.case(world.primary)
        assert primary is not None
        for n in range(60):
            other = new_review(primary, reader=f"r{n}", blinded=False, created_by="admin")
            other.review_of = None if n % 2 else world.primary
            other.reader = None if n % 2 else other.reader
            store.add(other)
        store.commit()
    loaded, many = counted()
    assert loaded == {world.primary, review}
    assert many == few, (few, many)
    assert world.get("/api/v1/readings/agreement", "specialist").json() == before
