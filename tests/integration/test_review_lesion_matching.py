"""Two readers' lesions matched in patient space (issue 21): another slice of the same
series, another frame of reference through a registration, and a share's copy; on SQLite
and PostgreSQL with a real Orthanc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid

from tests.conftest import Service, radiologist_tokens, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "MATCH-1"
READERS = ("second-reader", "third-reader")


def _series(n: int, study_uid: str, date: str, frame: str, *, x0: float = 0.0,
            number: int = 1) -> list[Dataset]:
    """``n`` 64 x 64 slices of 1 mm pixels, 2.5 mm apart, in the frame of reference
    ``frame``, the first pixel at x = ``x0``."""
    series = tiny_ct_series(n, patient_id=PID, study_uid=study_uid, study_date=date, size=64,
                            spacing=(1.0, 1.0))
    for ds in series:
        ds.FrameOfReferenceUID = frame
        ds.SeriesNumber = number
        ds.ImagePositionPatient = [x0, 0.0, ds.ImagePositionPatient[2]]
    return series


def _caliper(ds: Dataset, row: int) -> dict[str, Any]:
    """A 20 mm caliper along row ``row``, its midpoint at column 20."""
    return {"sop_instance_uid": ds.SOPInstanceUID, "endpoints": [[row, 10], [row, 30]]}


class World:
    def __init__(self, service: Service, tokens: dict[str, str], a: list[Dataset],
                 b: list[Dataset], c: list[Dataset], primary: int) -> None:
        self.service, self.tokens, self.primary = service, tokens, primary
        self.a, self.b, self.c = a, b, c
        self.timepoints = [a[0].StudyInstanceUID, c[0].StudyInstanceUID]

    def headers(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.get(who) or self.service.tokens[who]}"}

    def read(self, case_id: int, who: str, lesions: dict[str, list[dict[str, Any]]]) -> None:
        """Each lesion measured at every timepoint (its calipers in timepoint order); every
        timepoint signed off."""
        for label, calipers in lesions.items():
            r = self.service.client.post(f"/api/v1/cases/{case_id}/lesions", json={
                "kind": "target", "organ": "liver", "label": label}, headers=self.headers(who))
            assert r.status_code == 201, r.text
            lesion = r.json()["id"]
            for tp, caliper in zip(self.timepoints, calipers, strict=True):
                put = self.service.client.put(
                    f"/api/v1/cases/{case_id}/lesions/{lesion}/measurements/{tp}",
                    json=caliper, headers=self.headers(who))
                assert put.status_code in (200, 201), put.text
        for tp in self.timepoints:
            r = self.service.client.post(f"/api/v1/cases/{case_id}/timepoints/{tp}/sign-off",
                                         json={}, headers=self.headers(who))
            assert r.status_code == 200, r.text

    def matched(self) -> dict[int, Any]:
        """Per review: (timepoint index, primary label, review label, distance) matched,
        and the review's labels left alone."""
        r = self.service.client.get(f"/api/v1/cases/{self.primary}/readings",
                                    headers=self.headers("specialist"))
        assert r.status_code == 200, r.text
        order = {tp: i for i, tp in enumerate(self.timepoints)}
        return {rv["review_case_id"]: (
            [(order[m["timepoint_id"]], m["primary"]["label"], m["review"]["label"],
              m["distance_mm"]) for m in rv["lesions"]["matched"]],
            [(order[x["timepoint_id"]], x["label"]) for x in rv["lesions"]["review_only"]])
            for rv in r.json()["reviews"]}


@pytest.fixture
def world(service: Service, orthanc: Any, tmp_path: Path) -> World:
    """Baseline: series A (3 slices, frame F1) and series B (3 slices, frame F2, placed
    100 mm along x); follow-up: series C (frame F1). The primary reader measures T1 on A's
    first slice and on C; two more radiologists."""
    bl, fu = generate_uid(), generate_uid()
    f1, f2 = generate_uid(), generate_uid()
    a = _series(3, bl, "20260105", f1)
    b = _series(3, bl, "20260105", f2, x0=100.0, number=2)
    c = _series(1, fu, "20260302", f1)
    storescu(orthanc, write_all(a, tmp_path / "a") + write_all(b, tmp_path / "b")
             + write_all(c, tmp_path / "c"))
    tokens = radiologist_tokens(service.app, READERS)

    def indexed() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and sorted(len(st["series"]) for st in r.json()) == [1, 2]

    wait_until(indexed, timeout=60)
    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    w = World(service, tokens, a, b, c, r.json()["id"])
    w.read(w.primary, "radiologist", {"T1": [_caliper(a[0], 20), _caliper(c[0], 20)]})
    return w


def _review(w: World, reader: str) -> int:
    r = w.service.client.post(f"/api/v1/cases/{w.primary}/reviews",
                              json={"reader": reader, "blinded": False},
                              headers=w.headers("radiologist"))
    assert r.status_code == 201, r.text
    review: int = r.json()["id"]
    return review


def test_lesions_match_across_slices_and_through_a_registration(world: World) -> None:
    from api.db.models import SeriesRegistration

    w = world
    # Another slice of series A (2.5 mm below) at the same pixel: 2.5 mm apart; at the
    # follow-up 3 rows lower: 3 mm. X is 30 mm from T1: the reviewer's alone.
    one = _review(w, "second-reader")
    w.read(one, "second-reader", {"T1": [_caliper(w.a[1], 20), _caliper(w.c[0], 23)],
                                  "X": [_caliper(w.a[0], 50), _caliper(w.c[0], 50)]})
    # Series B lies in another frame of reference: not comparable without a registration.
    two = _review(w, "third-reader")
    w.read(two, "third-reader", {"T1": [_caliper(w.b[0], 22), _caliper(w.c[0], 20)]})
    found = w.matched()
    assert found[one] == ([(0, "T1", "T1", 2.5), (1, "T1", "T1", 3.0)], [(0, "X"), (1, "X")])
    assert found[two] == ([(1, "T1", "T1", 0.0)], [(0, "T1")])

    # A registration of A onto B (B = A moved 100 mm along x): B's point comes back
    # through its inverse, 2 rows (2 mm) from the primary's.
    with w.service.app.state.sessions.begin() as s:
        s.add(SeriesRegistration(
            baseline_series_uid=w.a[0].SeriesInstanceUID,
            followup_series_uid=w.b[0].SeriesInstanceUID, status="done", attempt=1,
            matrix=[[1, 0, 0, 100], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], details={}))
    found = w.matched()
    assert found[two] == ([(0, "T1", "T1", 2.0), (1, "T1", "T1", 0.0)], [])
    assert found[one][0] == [(0, "T1", "T1", 2.5), (1, "T1", "T1", 3.0)]
    # A failed registration is no registration.
    with w.service.app.state.sessions.begin() as s:
        row = s.query(SeriesRegistration).one()
        row.status, row.matrix = "failed", None
    assert w.matched()[two] == ([(1, "T1", "T1", 0.0)], [(0, "T1")])
    for who, code in (("radiologist", 200), ("specialist", 200), ("admin", 200),
                      ("uploader", 403), ("reviewer", 403), (None, 401)):
        r = w.service.client.get(f"/api/v1/cases/{w.primary}/readings", headers=w.headers(who))
        assert r.status_code == code, (who, r.text)


def test_a_shares_copy_is_matched_in_its_originals_frame(world: World) -> None:
    """The share's copy has new UIDs, its Frame of Reference UID too: the reading copied
    onto it (include_measurements) lies where the original's does."""
    from api.adapters.sql_store import SqlCaseStore

    w = world
    r = w.service.client.post(f"/api/v1/cases/{w.primary}/shares", json={
        "blinded": False, "include_measurements": True, "note": "x"},
        headers=w.headers("radiologist"))
    assert r.status_code == 201, r.text
    share = r.json()
    wait_until(lambda: len(w.service.client.get(
        f"/api/v1/patients/{share['pseudonym']}/studies",
        headers=w.headers("admin")).json()) == 2, timeout=60)
    with w.service.app.state.sessions() as session:
        store = SqlCaseStore(session)
        frames = {s.frame_of_reference_uid for p in (PID, share["pseudonym"])
                  for st in store.studies_of(p) or [] for s in st.series}
    assert len(frames) == 4, frames  # F1, F2 and their copies' new UIDs
    token = {"Authorization": f"Bearer {share['token']}"}
    for study in share["studies"]:
        r = w.service.client.post(
            f"/api/v1/cases/{share['review_case_id']}/timepoints/{study['copy_study_uid']}"
            "/sign-off", headers=token)
        assert r.status_code in (200, 201), r.text
    assert w.matched()[share["review_case_id"]] == (
        [(0, "T1", "T1", 0.0), (1, "T1", "T1", 0.0)], [])
