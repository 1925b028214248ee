"""Shares of a case for a second opinion (issue 21), on SQLite and PostgreSQL with a real
Orthanc: creation and its roles, bad input, the share token's reach over every route,
revocation and expiry at once, audits on the original patient."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from api.share_access import REVIEWER_ROUTES
from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "SHARE-PATIENT-1"


def test_the_share_migration_goes_both_ways(database_url: str) -> None:
    """0020 adds the shares table and api_tokens.expires_at, matches the models, keeps the
    tokens already there (they never expire) and goes back."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0019")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (id, name, role, created_at) VALUES "
                             "(1, 'rad', 'radiologist', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO api_tokens (user_id, token_hash, label, created_at, "
                             "revoked) VALUES (1, 'h', '', CURRENT_TIMESTAMP, false)"))
    command.upgrade(config, "0020")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT expires_at FROM api_tokens")).all() == [(None,)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # shares.purged_at comes with 0022 (tests/integration/test_share_purge.py).
    assert [d for d in diffs if ("shares" in repr(d) or "expires_at" in repr(d))
            and "purged_at" not in repr(d)] == []
    command.downgrade(config, "0019")
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        assert "shares" not in inspector.get_table_names()
        assert "expires_at" not in {c["name"] for c in inspector.get_columns("api_tokens")}
    command.upgrade(config, "head")
    engine.dispose()


@pytest.fixture
def case(service: Service, orthanc: Any, tmp_path: Path) -> dict[str, Any]:
    """A case over a baseline and a follow-up 56 days later, and another patient."""
    bl = tiny_ct_series(2, patient_id=PID, study_date="20260105", size=16)
    fu = tiny_ct_series(2, patient_id=PID, study_date="20260302", size=16)
    other = tiny_ct_series(1, patient_id="SHARE-OTHER", size=16)
    storescu(orthanc, write_all(bl, tmp_path / "bl") + write_all(fu, tmp_path / "fu")
             + write_all(other, tmp_path / "o"))
    admin = service.headers("admin")
    wait_until(lambda: len(service.client.get(f"/api/v1/patients/{PID}/studies",
                                              headers=admin).json()) == 2
               and service.client.get("/api/v1/patients/SHARE-OTHER/studies",
                                      headers=admin).status_code == 200, timeout=60)
    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    return {"case": r.json(), "bl": bl, "fu": fu, "other": other}


def _share(service: Service, case_id: int, role: str = "radiologist",
           **body: Any) -> dict[str, Any]:
    r = service.client.post(f"/api/v1/cases/{case_id}/shares",
                            json={"note": "Second opinion on the liver lesion", **body},
                            headers=service.headers(role))
    assert r.status_code == 201, r.text
    share: dict[str, Any] = r.json()
    # The copy reaches the index through Orthanc's change feed.
    wait_until(lambda: len(service.client.get(
        f"/api/v1/patients/{share['pseudonym']}/studies",
        headers=service.headers("admin")).json()) == 2, timeout=60)
    return share


def expire(service: Service, share: dict[str, Any], at: dt.datetime) -> None:
    """The share expires at ``at``: its token and its row, as the clock would make it."""
    import sqlalchemy as sa

    from api.db.models import ApiToken, User, shares_table

    with service.app.state.sessions.begin() as session:
        session.execute(sa.update(ApiToken).where(
            ApiToken.user_id == sa.select(User.id).where(User.name == share["reviewer"])
            .scalar_subquery()).values(expires_at=at))
        session.execute(sa.update(shares_table).where(shares_table.c.id == share["id"])
                        .values(expires_at=at))


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_share_answers_its_token_url_pseudonym_expiry_and_review(
        service: Service, case: dict[str, Any]) -> None:
    cid = case["case"]["id"]
    share = _share(service, cid, expires_in_days=14)
    assert share["token"].startswith("ndr_") and share["pseudonym"].startswith("NADIR-SHARE-")
    assert share["workstation_url"].endswith(f"/cases/{share['review_case_id']}")
    assert share["state"] == "active" and share["blinded"] is True
    expires = dt.datetime.fromisoformat(share["expires_at"])
    expires = expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC)
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=13, hours=23) < left <= dt.timedelta(days=14)
    sources = [s["source_study_uid"] for s in share["studies"]]
    assert sources == [case["bl"][0].StudyInstanceUID, case["fu"][0].StudyInstanceUID]
    # The review case reads the copy: the pseudonym's studies, dates moved by one offset.
    r = service.client.get(f"/api/v1/cases/{share['review_case_id']}",
                           headers=service.headers("admin"))
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["review_of"] == cid and review["blinded"] is True
    assert review["patient_id"] == share["pseudonym"]
    copies = [s["copy_study_uid"] for s in share["studies"]]
    assert [t["id"] for t in review["timepoints"]] == copies
    dates = [dt.date.fromisoformat(t["date"]) for t in review["timepoints"]]
    assert (dates[1] - dates[0]).days == 56 and dates[0] < dt.date(2025, 1, 5)
    # The token is shown once: never in a list or a read.
    listed = service.client.get(f"/api/v1/shares?case_id={cid}",
                                headers=service.headers("admin")).json()
    assert [s["id"] for s in listed] == [share["id"]] and "token" not in listed[0]
    one = service.client.get(f"/api/v1/shares/{share['id']}", headers=service.headers("admin"))
    assert one.status_code == 200 and "token" not in one.json()


def test_roles_unknown_cases_and_bad_input(service: Service, case: dict[str, Any]) -> None:
    cid = case["case"]["id"]
    for role in ("uploader", "specialist", "reviewer"):
        r = service.client.post(f"/api/v1/cases/{cid}/shares", json={},
                                headers=service.headers(role))
        assert r.status_code == 403, (role, r.text)
        for path in ("/api/v1/shares", "/api/v1/shares/1"):
            assert service.client.get(path, headers=service.headers(role)).status_code == 403
    assert service.client.post("/api/v1/cases/99999/shares", json={},
                               headers=service.headers("admin")).status_code == 404
    assert service.client.get("/api/v1/shares/99999",
                              headers=service.headers("admin")).status_code == 404
    assert service.client.delete("/api/v1/shares/99999",
                                 headers=service.headers("admin")).status_code == 404
    bad = [({"expires_in_days": 0}, "expires_in_days"),
           ({"expires_in_days": 91}, "expires_in_days"),
           ({"expires_in_days": "14"}, "expires_in_days"), ({"note": "x" * 2001}, "note"),
           ({"blinded": "yes"}, "blinded"), ({"reader": "someone"}, "reader"),
           ({"blinded": True, "include_measurements": True}, "include_measurements")]
    for body, named in bad:
        r = service.client.post(f"/api/v1/cases/{cid}/shares", json=body,
                                headers=service.headers("radiologist"))
        assert r.status_code == 422 and named in r.text, (body, r.text)
    assert service.client.get("/api/v1/shares", headers=service.headers("admin")).json() == []


def _fill(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: ids.get(m.group(1), "1"), template)


def test_a_share_token_reaches_its_share_only_on_every_route(
        service: Service, case: dict[str, Any]) -> None:
    cid = case["case"]["id"]
    share = _share(service, cid)
    token = _as(share["token"])
    review = share["review_case_id"]
    copy_bl = share["studies"][0]["copy_study_uid"]
    r = service.client.post(f"/api/v1/cases/{review}/lesions",
                            json={"kind": "target", "organ": "liver"}, headers=token)
    assert r.status_code == 201, r.text
    lesion = str(r.json()["id"])
    instance = service.client.get(f"/dicom-web/studies/{copy_bl}/instances",
                                  headers=token).json()[0]["00080018"]["Value"][0]
    r = service.client.put(f"/api/v1/cases/{review}/lesions/{lesion}/measurements/{copy_bl}",
                           json={"sop_instance_uid": instance, "endpoints": [[2, 2], [2, 9]]},
                           headers=token)
    assert r.status_code == 200, r.text
    own = {"case_id": str(review), "share_id": str(share["id"]), "lesion_id": lesion,
           "timepoint_id": copy_bl, "patient_id": share["pseudonym"],
           "path": f"studies/{copy_bl}/series"}
    foreign = {**own, "case_id": str(cid), "share_id": str(share["id"] + 1000),
               "patient_id": PID,
               "path": f"studies/{case['bl'][0].StudyInstanceUID}/series"}
    table = []
    for route in iter_route_contexts(service.app.routes):
        if not route.path or route.path.endswith("/events"):
            continue  # event streams stay open: checked below
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = _fill(route.path, own)
            anonymous = service.client.request(method, path)
            if anonymous.status_code != 401 or "bearer" not in anonymous.text:
                continue  # public (health, docs, web pages) or not for tokens (internal)
            answer = service.client.request(method, path, headers=token, json={})
            allowed = (method, route.path) in REVIEWER_ROUTES
            table.append((method, route.path, allowed, answer.status_code))
            if allowed:
                assert answer.status_code not in (401, 403, 404), (method, route.path, answer.text)
                if any(f"{{{k}" in route.path
                       for k in ("case_id", "share_id", "path", "patient_id")):
                    other = service.client.request(method, _fill(route.path, foreign),
                                                   headers=token, json={})
                    assert other.status_code == 404, (method, route.path, other.text)
            else:
                assert answer.status_code == 403, (method, route.path, answer.text)
    assert len(table) > 40 and sum(1 for row in table if row[2]) >= 12
    # The review case with its studies: the copy's, never the original's.
    r = service.client.get(f"/api/v1/cases/{review}?include=studies", headers=token)
    assert r.status_code == 200, r.text
    assert [st["study_instance_uid"] for st in r.json()["studies"]] == [
        s["copy_study_uid"] for s in share["studies"]]
    assert service.client.get(f"/api/v1/cases/{cid}?include=studies",
                              headers=token).status_code == 404
    assert service.client.get(f"/api/v1/cases/{cid}/events", headers=token).status_code == 404
    assert service.client.get("/api/v1/patients", headers=token).status_code == 403
    assert service.client.get("/dicom-web/studies", headers=token).status_code == 403
    other_patient = case["other"][0].StudyInstanceUID
    assert service.client.get(f"/dicom-web/studies/{other_patient}/series",
                              headers=token).status_code == 404


def test_the_reviewer_reads_the_copy_and_measures_its_review_audited_on_the_original(
        service: Service, case: dict[str, Any]) -> None:
    share = _share(service, case["case"]["id"])
    token, review = _as(share["token"]), share["review_case_id"]
    copy_bl = share["studies"][0]["copy_study_uid"]
    r = service.client.get(f"/dicom-web/studies/{copy_bl}/instances", headers=token)
    assert r.status_code == 200, r.text
    instance = r.json()[0]["00080018"]["Value"][0]
    assert instance not in {ds.SOPInstanceUID for ds in case["bl"]}
    lesion = service.client.post(f"/api/v1/cases/{review}/lesions",
                                 json={"kind": "target", "organ": "lung"}, headers=token)
    r = service.client.put(
        f"/api/v1/cases/{review}/lesions/{lesion.json()['id']}/measurements/{copy_bl}",
        json={"sop_instance_uid": instance, "endpoints": [[2, 2], [2, 12]]}, headers=token)
    assert r.status_code == 200, r.text
    assert r.json()["author"] == share["reviewer"]
    assert service.client.get(f"/api/v1/cases/{review}/response",
                              headers=token).status_code in (200, 409)
    events = service.client.get(f"/api/v1/audit?patient_id={PID}",
                                headers=service.headers("admin")).json()["events"]
    mine = [e for e in events if e["user"] == share["reviewer"]]
    actions = {e["action"] for e in mine}
    assert {"share_use", "share_read_images"} <= actions, actions
    assert all(f"cases/{case['case']['id']}/shares/{share['id']}" in e["resource"]
               for e in mine)


def test_revocation_and_expiry_answer_401_at_once(service: Service,
                                                  case: dict[str, Any]) -> None:


    cid = case["case"]["id"]
    first, second = _share(service, cid), _share(service, cid, role="admin")
    review = f"/api/v1/cases/{first['review_case_id']}"
    assert service.client.get(review, headers=_as(first["token"])).status_code == 200
    # Another share's token reaches nothing of this one.
    assert service.client.get(review, headers=_as(second["token"])).status_code == 404
    copy = first["studies"][0]["copy_study_uid"]
    assert service.client.get(f"/dicom-web/studies/{copy}/series",
                              headers=_as(second["token"])).status_code == 404
    for role in ("specialist", "uploader"):
        assert service.client.delete(f"/api/v1/shares/{first['id']}",
                                     headers=service.headers(role)).status_code == 403
    assert service.client.delete(f"/api/v1/shares/{first['id']}",
                                 headers=_as(first["token"])).status_code == 403
    r = service.client.delete(f"/api/v1/shares/{first['id']}",
                              headers=service.headers("radiologist"))
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    for path in (review, f"/dicom-web/studies/{copy}/series", "/api/v1/me"):
        assert service.client.get(path, headers=_as(first["token"])).status_code == 401
    assert service.app.state.orthanc.lookup(copy) == []  # the copy is gone from the PACS
    # Expiry: the second share expires now.
    expire(service, second, dt.datetime.now(dt.UTC))
    second_review = f"/api/v1/cases/{second['review_case_id']}"
    assert service.client.get(second_review, headers=_as(second["token"])).status_code == 401
    listed = {s["id"]: s["state"] for s in service.client.get(
        "/api/v1/shares", headers=service.headers("admin")).json()}
    assert listed == {first["id"]: "revoked", second["id"]: "expired"}


def test_a_finished_reading_is_copied_onto_a_share_that_is_not_blinded(
        service: Service, case: dict[str, Any]) -> None:
    cid = case["case"]["id"]
    rad = service.headers("radiologist")
    lesion = service.client.post(f"/api/v1/cases/{cid}/lesions",
                                 json={"kind": "target", "organ": "liver"}, headers=rad).json()
    for tp, image, columns in ((case["bl"], case["bl"][1], 14), (case["fu"], case["fu"][1], 8)):
        r = service.client.put(
            f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{tp[0].StudyInstanceUID}",
            json={"sop_instance_uid": image.SOPInstanceUID, "endpoints": [[1, 1], [1, columns]]},
            headers=rad)
        assert r.status_code == 200, r.text
    share = _share(service, cid, blinded=False, include_measurements=True)
    review = share["review_case_id"]
    copied = service.client.get(f"/api/v1/cases/{review}/measurements",
                                headers=_as(share["token"])).json()["measurements"]
    originals = service.client.get(f"/api/v1/cases/{cid}/measurements",
                                   headers=rad).json()["measurements"]
    assert len(copied) == len(originals) == 2
    by_copy = {s["copy_study_uid"]: s["source_study_uid"] for s in share["studies"]}
    sources = {m["timepoint_id"]: m for m in originals}
    for m in copied:
        original = sources[by_copy[m["timepoint_id"]]]
        assert m["length_mm"] == original["length_mm"] and m["author"] == "primary reader"
        assert m["sop_instance_uid"] != original["sop_instance_uid"]
        assert m["endpoints"] == original["endpoints"]
    # The same measurements on the copy give the same response, timepoint by timepoint.
    mine = service.client.get(f"/api/v1/cases/{review}/response",
                              headers=_as(share["token"])).json()
    theirs = service.client.get(f"/api/v1/cases/{cid}/response", headers=rad).json()
    fields = ("sum_mm", "change_from_baseline_pct", "overall_response")
    assert [[t.get(f) for f in fields] for t in mine["timepoints"]] \
        == [[t.get(f) for f in fields] for t in theirs["timepoints"]], (mine, theirs)
    assert theirs["timepoints"][1].get("overall_response") == "PR", theirs  # 9.1 -> 4.9 mm
    # A blinded share copies nothing, and asking it to is refused.
    blinded = _share(service, cid)
    assert service.client.get(f"/api/v1/cases/{blinded['review_case_id']}/measurements",
                              headers=_as(blinded["token"])).json()["measurements"] == []


def test_the_package_is_dicom_media_without_an_original_value(
        service: Service, case: dict[str, Any], tmp_path: Path) -> None:
    import io
    import shutil
    import subprocess
    import zipfile

    from pydicom import dcmread
    from pydicom.fileset import FileSet

    share = _share(service, case["case"]["id"])
    path = f"/api/v1/shares/{share['id']}/package"
    r = service.client.get(path, headers=_as(share["token"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        archive.extractall(tmp_path / "media")
        names = archive.namelist()
    assert "DICOMDIR" in names and len(names) == 5  # 2 studies x 2 images, and the DICOMDIR
    originals = [PID, "Test^Tiny", "20260105", "20260302",
                 *{str(ds.StudyInstanceUID) for ds in case["bl"] + case["fu"]},
                 *{str(ds.SOPInstanceUID) for ds in case["bl"] + case["fu"]}]
    for name in names:
        data = (tmp_path / "media" / name).read_bytes()
        leaks = [v for v in originals if v.encode() in data]
        assert not leaks, (name, leaks)
    file_set = FileSet(dcmread(tmp_path / "media" / "DICOMDIR"))
    instances = [i.load() for i in file_set]
    assert len(instances) == 4 and {i.PatientID for i in instances} == {share["pseudonym"]}
    copies = {s["copy_study_uid"] for s in share["studies"]}
    assert {str(i.StudyInstanceUID) for i in instances} == copies
    if shutil.which("dcmdump") is None:
        pytest.skip("dcmdump (dcmtk) is not installed: bash scripts/setup.sh dev installs it")
    for name in names:
        out = subprocess.run(["dcmdump", str(tmp_path / "media" / name)], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0 and "E:" not in out.stderr, (name, out.stderr[-500:])
    # Who may download: the sharer's roles and the share's own token, nobody else.
    assert service.client.get(path, headers=service.headers("radiologist")).status_code == 200
    for role in ("specialist", "uploader"):
        assert service.client.get(path, headers=service.headers(role)).status_code == 403
    other = _share(service, case["case"]["id"])
    assert service.client.get(path, headers=_as(other["token"])).status_code == 404
    service.client.delete(f"/api/v1/shares/{share['id']}", headers=service.headers("admin"))
    assert service.client.get(path, headers=_as(share["token"])).status_code == 401
    r = service.client.get(path, headers=service.headers("admin"))
    assert r.status_code == 409 and "revoked" in r.text


def test_the_blinded_reader_of_a_review_may_not_share_the_case(
        service: Service, case: dict[str, Any]) -> None:
    from api.auth import create_user, issue_token
    from api.db.models import Case
    from api.workflow.reviews import new_review
    from api.workflow.roles import Role

    cid = case["case"]["id"]
    with service.app.state.sessions.begin() as session:
        token = issue_token(session, create_user(session, "second-reader", Role.RADIOLOGIST))
        primary = session.get(Case, cid)
        assert primary is not None
        session.add(new_review(primary, reader="second-reader", blinded=True,
                               created_by="admin-user"))
    r = service.client.post(f"/api/v1/cases/{cid}/shares",
                            json={"blinded": False, "include_measurements": True},
                            headers=_as(token))
    assert r.status_code == 403 and "blinded review" in r.text, r.text
    assert service.client.get("/api/v1/shares", headers=service.headers("admin")).json() == []


def _measure_one_lesion(service: Service, case: dict[str, Any]) -> None:
    """A target lesion of the case measured at both timepoints (13 mm)."""
    cid = case["case"]["id"]
    rad = service.headers("radiologist")
    lesion = service.client.post(f"/api/v1/cases/{cid}/lesions",
                                 json={"kind": "target", "organ": "liver"}, headers=rad).json()
    for tp in (case["bl"], case["fu"]):
        r = service.client.put(
            f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{tp[0].StudyInstanceUID}",
            json={"sop_instance_uid": tp[0].SOPInstanceUID, "endpoints": [[1, 1], [1, 14]]},
            headers=rad)
        assert r.status_code == 200, r.text


def test_no_original_value_reaches_the_reviewer_through_images_or_the_report(
        service: Service, case: dict[str, Any]) -> None:
    cid = case["case"]["id"]
    _measure_one_lesion(service, case)
    share = _share(service, cid, blinded=False, include_measurements=True)
    token = _as(share["token"])
    originals = [PID, "Test^Tiny", "20260105", "2026-01-05", "20260302", "2026-03-02",
                 "radiologist-user",
                 *{str(ds.StudyInstanceUID) for ds in case["bl"] + case["fu"]},
                 *{str(ds.SeriesInstanceUID) for ds in case["bl"] + case["fu"]},
                 *{str(ds.SOPInstanceUID) for ds in case["bl"] + case["fu"]}]
    fetched = []
    for study in share["studies"]:
        uid = study["copy_study_uid"]
        for instance in service.client.get(f"/dicom-web/studies/{uid}/instances",
                                           headers=token).json():
            series, sop = instance["0020000E"]["Value"][0], instance["00080018"]["Value"][0]
            r = service.client.get(f"/dicom-web/studies/{uid}/series/{series}/instances/{sop}",
                                   headers={**token, "Accept": "multipart/related; "
                                            "type=\"application/dicom\""})
            assert r.status_code == 200, r.text
            fetched.append(r.content)
        metadata = service.client.get(f"/dicom-web/studies/{uid}/metadata", headers=token)
        assert metadata.status_code == 200
        fetched.append(metadata.content)
    report = service.client.get(f"/api/v1/cases/{share['review_case_id']}/report?format=json",
                                headers=token)
    assert report.status_code == 200, report.text
    assert len(fetched) == 6  # 2 studies x (2 instances + metadata)
    for body in [*fetched, report.content]:
        leaks = [v for v in originals if v.encode() in body]
        assert not leaks, leaks


def test_the_package_carries_the_reviews_sr_and_pdf_once_published(
        service: Service, case: dict[str, Any], tmp_path: Path) -> None:
    import io
    import zipfile

    from pydicom import dcmread
    from pydicom.fileset import FileSet

    cid = case["case"]["id"]
    rad = service.headers("radiologist")
    _measure_one_lesion(service, case)
    share = _share(service, cid, blinded=False, include_measurements=True)
    token, review = _as(share["token"]), share["review_case_id"]
    for study in share["studies"]:
        r = service.client.post(
            f"/api/v1/cases/{review}/timepoints/{study['copy_study_uid']}/sign-off",
            headers=token)
        assert r.status_code in (200, 201), r.text
    r = service.client.post(f"/api/v1/cases/{review}/publish", headers=rad)
    assert r.status_code == 201, r.text
    r = service.client.get(f"/api/v1/shares/{share['id']}/package", headers=token)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        archive.extractall(tmp_path / "media")
        names = archive.namelist()
    file_set = FileSet(dcmread(tmp_path / "media" / "DICOMDIR"))
    records = [str(i.DirectoryRecordType) for i in file_set]
    assert sorted(records) == ["ENCAP DOC", "IMAGE", "IMAGE", "IMAGE", "IMAGE",
                               "SR DOCUMENT", "SR DOCUMENT"], records
    originals = [PID, "Test^Tiny", "20260105", "20260302", "radiologist-user",
                 *{str(ds.StudyInstanceUID) for ds in case["bl"] + case["fu"]},
                 *{str(ds.SOPInstanceUID) for ds in case["bl"] + case["fu"]}]
    for name in names:
        data = (tmp_path / "media" / name).read_bytes()
        leaks = [v for v in originals if v.encode() in data]
        assert not leaks, (name, leaks)


def test_a_study_deleted_from_the_pacs_under_a_share_is_a_conflict_that_leaves_nothing(
        service: Service, case: dict[str, Any]) -> None:
    """The index still lists a study the PACS has just deleted (its sweep forgets it
    later): the share answers 409 naming the case, not a PACS failure, and leaves no copy,
    share, review case or reviewer behind. The deletion is real, made between the index's
    answer and the copy, where a PACS administrator's would fall."""
    import sqlalchemy as sa

    from api.db.models import User

    cid = case["case"]["id"]
    orthanc = service.app.state.orthanc
    real = service.app.state.share_copies
    patients_before = sorted(orthanc.resource_ids("patients"))

    class DeletedUnderneath:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def copy(self, study_orthanc_ids: list[str], pseudonym: str) -> Any:
            orthanc.delete("studies", study_orthanc_ids[-1])
            return real.copy(study_orthanc_ids, pseudonym)

    service.app.state.share_copies = DeletedUnderneath()
    try:
        r = service.client.post(f"/api/v1/cases/{cid}/shares", json={"blinded": False},
                                headers=service.headers("radiologist"))
    finally:
        service.app.state.share_copies = real
    assert r.status_code == 409, r.text
    assert f"case {cid} cannot be shared" in r.json()["detail"]
    assert "no longer holds" in r.json()["detail"]
    # The baseline's copy, stored before the follow-up was found gone, was removed.
    remaining = sorted(orthanc.resource_ids("patients"))
    assert set(remaining) <= set(patients_before), "a partial copy stayed in the PACS"
    assert service.client.get("/api/v1/shares", headers=service.headers("admin")).json() == []
    cases = service.client.get("/api/v1/cases", headers=service.headers("admin")).json()
    assert [c["id"] for c in cases] == [cid]
    with service.app.state.sessions() as session:
        assert session.scalars(sa.select(User.name).where(
            User.name.like("reviewer-nadir-share-%"))).all() == []


def test_a_share_copy_is_no_patient_for_a_case_of_its_own(
        service: Service, case: dict[str, Any]) -> None:
    """The copy is read in its review case only: a case opened on the pseudonym, by any
    role that may open cases, is refused (409, naming the review case), since the copy's
    images leave the PACS when the share ends."""
    share = _share(service, case["case"]["id"], blinded=False)
    for role in ("radiologist", "admin"):
        for body in ({}, {"allow_duplicate": True},
                     {"baseline_study_uid": share["studies"][0]["copy_study_uid"]}):
            r = service.client.post("/api/v1/cases", json={
                "patient_id": share["pseudonym"], "criteria": "iRECIST", **body},
                headers=service.headers(role))
            assert r.status_code == 409, (role, body, r.text)
            assert f"review case {share['review_case_id']}" in r.json()["detail"]
    assert service.client.post("/api/v1/cases", json={"patient_id": share["pseudonym"]},
                               headers=service.headers("specialist")).status_code == 403
    cases = service.client.get(f"/api/v1/cases?patient_id={share['pseudonym']}",
                               headers=service.headers("admin")).json()
    assert [c["id"] for c in cases] == [share["review_case_id"]]
    # The worklist says which patient is a copy, and where it is read.
    patients = {p["patient_id"]: p for p in service.client.get(
        "/api/v1/worklist", headers=service.headers("radiologist")).json()["patients"]}
    assert patients[share["pseudonym"]]["copy_read_in"] == share["review_case_id"]
    assert patients[PID]["copy_read_in"] is None
