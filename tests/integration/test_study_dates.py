"""Every study of the patient takes part in the case (issue 20): a study without a
StudyDate is dated from its series, and one without any date is listed with the reason
until a radiologist dates it for the case. SQLite and PostgreSQL, a real Orthanc."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import generate_uid

from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "DATES-1"


@pytest.fixture
def studies(service: Service, orthanc: Any, tmp_path: Path) -> dict[str, str]:
    """A dated baseline, a follow-up with an empty StudyDate but a SeriesDate, and a
    study with no date at all, of one patient (born 1970-01-01)."""
    bl = tiny_ct_series(2, patient_id=PID, study_date="20260105")
    fu = tiny_ct_series(2, patient_id=PID, study_date="")
    undated = tiny_ct_series(2, patient_id=PID, study_date="")
    for ds in fu:
        ds.SeriesDate, ds.AcquisitionDate = "20260302", "20260303"
    for ds in bl + fu + undated:
        ds.PatientBirthDate = "19700101"
    storescu(orthanc, write_all(bl, tmp_path / "bl") + write_all(fu, tmp_path / "fu")
             + write_all(undated, tmp_path / "un"))

    def ready() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and len(r.json()) == 3

    wait_until(ready, timeout=60)
    return {"bl": bl[0].StudyInstanceUID, "fu": fu[0].StudyInstanceUID,
            "undated": undated[0].StudyInstanceUID}


def _case(service: Service) -> dict[str, Any]:
    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _set(service: Service, cid: int, uid: str, body: Any, role: str | None = "radiologist"
         ) -> Any:
    headers = service.headers(role) if role else {}
    return service.client.put(f"/api/v1/cases/{cid}/studies/{uid}/date", json=body,
                              headers=headers)


def test_undated_follow_up_is_dated_from_its_series(service: Service,
                                                    studies: dict[str, str]) -> None:
    listed = service.client.get(f"/api/v1/patients/{PID}/studies",
                                headers=service.headers("specialist")).json()
    by_uid = {st["study_instance_uid"]: st for st in listed}
    assert (by_uid[studies["fu"]]["study_date"], by_uid[studies["fu"]]["date_source"]) \
        == ("2026-03-02", "SeriesDate")
    assert (by_uid[studies["bl"]]["study_date"], by_uid[studies["bl"]]["date_source"]) \
        == ("2026-01-05", "StudyDate")
    assert (by_uid[studies["undated"]]["study_date"],
            by_uid[studies["undated"]]["date_source"]) == (None, None)

    case = _case(service)
    assert [(t["id"], t["date"], t["date_source"]) for t in case["timepoints"]] == [
        (studies["bl"], "2026-01-05", "StudyDate"), (studies["fu"], "2026-03-02", "SeriesDate")]
    assert [s["study_instance_uid"] for s in case["left_out"]] == [studies["undated"]]
    assert case["left_out"][0]["reason"].startswith("date unknown")
    read = service.client.get(f"/api/v1/cases/{case['id']}",
                              headers=service.headers("specialist")).json()
    assert read["left_out"] == case["left_out"] and read["study_dates_set"] == []
    # The report says it too.
    report = service.client.get(f"/api/v1/cases/{case['id']}/report?format=json",
                                headers=service.headers("specialist")).json()
    (note,) = [n for n in report["notes"] if n["kind"] == "left_out"]
    assert studies["undated"] in note["text"] and "date unknown" in note["text"]


def test_a_set_date_is_used_audited_and_reported(service: Service,
                                                 studies: dict[str, str]) -> None:
    cid = _case(service)["id"]
    r = _set(service, cid, studies["undated"], {"date": "2026-04-20",
                                                "reason": "date from the requisition"})
    assert r.status_code == 200, r.text
    case = r.json()
    assert [(t["id"], t["date"], t["date_source"]) for t in case["timepoints"]][-1] == (
        studies["undated"], "2026-04-20", "set for this case")
    assert case["left_out"] == []
    assert [(d["study_instance_uid"], d["date"], d["set_by"], d["reason"])
            for d in case["study_dates_set"]] == [
        (studies["undated"], "2026-04-20", "radiologist-user", "date from the requisition")]
    # The index keeps what the DICOM says; the date is the case's.
    listed = service.client.get(f"/api/v1/patients/{PID}/studies",
                                headers=service.headers("admin")).json()
    assert {st["study_instance_uid"]: st["study_date"] for st in listed}[
        studies["undated"]] is None
    # The case's page reads the studies as the case sees them, dated as its timepoints.
    both = service.client.get(f"/api/v1/cases/{cid}?include=studies",
                              headers=service.headers("admin")).json()
    assert {st["study_instance_uid"]: (st["study_date"], st["date_source"])
            for st in both["studies"]}[studies["undated"]] == ("2026-04-20", "set for this case")
    events = service.client.get(f"/api/v1/audit?patient_id={PID}",
                                headers=service.headers("admin")).json()["events"]
    assert any(e["action"] == "set_study_date" and e["user"] == "radiologist-user"
               and studies["undated"] in e["resource"] for e in events)
    worklist = service.client.get("/api/v1/worklist", headers=service.headers("specialist"))
    (entry,) = [c for c in worklist.json()["cases"] if c["id"] == cid]
    assert (entry["latest_timepoint_id"], entry["latest_timepoint_date"]) == (
        studies["undated"], "2026-04-20")
    html = service.client.get(f"/api/v1/cases/{cid}/report?format=html",
                              headers=service.headers("specialist"))
    assert html.status_code == 200
    assert "2026-04-20" in html.text and "date set for this case" in html.text
    assert "date from SeriesDate" in html.text
    report = service.client.get(f"/api/v1/cases/{cid}/report?format=json",
                                headers=service.headers("specialist")).json()
    assert [n for n in report["notes"] if n["kind"] == "left_out"] == []

    # Moved before the baseline, the study leaves the timepoints and the case says why.
    r = _set(service, cid, studies["undated"], {"date": "2025-12-01"})
    assert r.status_code == 200, r.text
    case = r.json()
    assert studies["undated"] not in [t["id"] for t in case["timepoints"]]
    assert case["left_out"][0]["reason"] == ("dated 2025-12-01, before the case's baseline "
                                            "of 2026-01-05")
    assert len(case["study_dates_set"]) == 2
    report = service.client.get(f"/api/v1/cases/{cid}/report?format=json",
                                headers=service.headers("specialist")).json()
    (note,) = [n for n in report["notes"] if n["kind"] == "left_out"]
    assert "before the case's baseline" in note["text"]


@pytest.mark.parametrize(("role", "status"), [
    (None, 401), ("uploader", 403), ("specialist", 403), ("admin", 403),
    ("radiologist", 200)])
def test_only_a_radiologist_sets_a_date(service: Service, studies: dict[str, str],
                                        role: str | None, status: int) -> None:
    cid = _case(service)["id"]
    r = _set(service, cid, studies["undated"], {"date": "2026-04-20"}, role)
    assert r.status_code == status, r.text
    case = service.client.get(f"/api/v1/cases/{cid}", headers=service.headers("admin")).json()
    assert len(case["study_dates_set"]) == (1 if status == 200 else 0)


def test_bad_dates_and_studies_are_refused(service: Service, studies: dict[str, str]) -> None:
    cid = _case(service)["id"]
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    for bad, words in [("2026-02-30", "not a day"), ("20260420", "YYYY-MM-DD"),
                       ("next week", "YYYY-MM-DD"), ("", "YYYY-MM-DD"),
                       (tomorrow, "outside"), ("1899-12-31", "outside"),
                       ("1969-12-31", "birth date"), ("2026-04-20T00:00", "YYYY-MM-DD"),
                       ("x" * 65, "")]:
        r = _set(service, cid, studies["undated"], {"date": bad})
        assert r.status_code == 422, (bad, r.text)
        assert words in r.text, (bad, r.text)
    for body in [{}, {"date": 20260420}, {"date": None}, [],
                 {"date": "2026-04-20", "reason": "x" * 1001},
                 {"date": "2026-04-20", "reason": "a\x00b"}, {"date": "2026-04-20\x00"}]:
        assert _set(service, cid, studies["undated"], body).status_code == 422, body
    # A dated study keeps its DICOM date; an unknown study or case is not found.
    r = _set(service, cid, studies["fu"], {"date": "2026-04-20"})
    assert r.status_code == 409 and "SeriesDate" in r.json()["detail"]
    assert _set(service, cid, generate_uid(), {"date": "2026-04-20"}).status_code == 404
    assert _set(service, 999999, studies["undated"], {"date": "2026-04-20"}).status_code == 404
    for uid in ["1.2.x", "..", "1.2.3%2F..%2F4", "1" * 65]:
        assert _set(service, cid, uid, {"date": "2026-04-20"}).status_code in (404, 422), uid
    case = service.client.get(f"/api/v1/cases/{cid}", headers=service.headers("admin")).json()
    assert case["study_dates_set"] == [] and len(case["left_out"]) == 1


def test_the_study_date_migrations_go_both_ways(database_url: str) -> None:
    """0009 marks the dates already indexed as StudyDate ones (only StudyDate was read
    before); 0009 and 0010 match the models and go back down."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0008")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO patients (id, patient_id) VALUES (1, 'P')"))
        conn.execute(sa.text(
            "INSERT INTO studies (id, study_instance_uid, patient_pk, orthanc_id, study_date, "
            "indexed_at) VALUES (1, '1.1', 1, 'o1', '2026-01-05', CURRENT_TIMESTAMP), "
            "(2, '1.2', 1, 'o2', NULL, CURRENT_TIMESTAMP)"))
    command.upgrade(config, "head")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT study_instance_uid, date_source, other_patient_ids FROM studies "
            "ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("1.1", "StudyDate", None), ("1.2", None, None)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if "case_study_dates" in repr(d) or "date_source" in repr(d)
            or "other_patient_ids" in repr(d)]
    assert mine == []
    command.downgrade(config, "0008")
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        columns = {c["name"] for c in inspector.get_columns("studies")}
        assert not {"date_source", "other_patient_ids"} & columns
        assert "case_study_dates" not in inspector.get_table_names()
    command.upgrade(config, "head")
    engine.dispose()
