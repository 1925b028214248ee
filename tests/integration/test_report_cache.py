"""Reports served from the cache of rendered reports (api/report/cache.py), over HTTP with a
real Orthanc: the same bytes and ETag while nothing the report shows changes, 304 on
If-None-Match, every request audited, and a new report after any change to what it shows."""

from __future__ import annotations

from typing import Any

import pytest

from api.report.cache import reports_for
from tests.integration.test_report_and_sr import demo_pacs, measured  # noqa: F401

pytestmark = pytest.mark.integration
FORMATS = ("json", "html", "pdf")


def _get(m: dict[str, Any], kind: str, **headers: str) -> Any:
    service = m["service"]
    return service.client.get(f"/api/v1/cases/{m['case']['id']}/report?format={kind}",
                              headers={**service.headers("specialist"), **headers})


def _reports(m: dict[str, Any]) -> dict[str, tuple[str, bytes]]:
    """Each format's ETag and body."""
    found = {}
    for kind in FORMATS:
        r = _get(m, kind)
        assert r.status_code == 200, r.text
        found[kind] = (r.headers["etag"], r.content)
    return found


def _report_reads(m: dict[str, Any]) -> int:
    service = m["service"]
    pid = m["pacs"].demo.baseline.patient.patient_id
    events = service.client.get(f"/api/v1/audit?patient_id={pid}&limit=1000",
                                headers=service.headers("admin")).json()["events"]
    return sum(e["resource"] == f"cases/{m['case']['id']}/report" for e in events)


def test_an_unchanged_case_is_served_from_the_cache_and_every_read_audited(
        measured: dict[str, Any]) -> None:  # noqa: F811
    cache = reports_for(measured["service"].app.state.pacs)
    before = _report_reads(measured)
    first = _reports(measured)
    misses = cache.misses
    again = _reports(measured)
    assert again == first, "an unchanged case gave another report"
    assert cache.misses == misses, "an unchanged case was rendered again"
    assert len({etag for etag, _ in first.values()}) == 3  # one ETag per format
    for kind, (etag, _) in first.items():
        r = _get(measured, kind, **{"If-None-Match": etag})
        assert r.status_code == 304 and r.headers["etag"] == etag and not r.content
        r = _get(measured, kind, **{"If-None-Match": f'"other", W/{etag}'})
        assert r.status_code == 304
        stale = _get(measured, kind, **{"If-None-Match": '"report-pdf-0"'})
        assert stale.status_code == 200 and stale.content == first[kind][1]
    assert first["pdf"][1].startswith(b"%PDF")
    assert _get(measured, "pdf").headers["content-type"] == "application/pdf"
    # 6 reports, 3 x 3 conditional reads and one more PDF: each one audited.
    assert _report_reads(measured) - before == 16


def _changes(m: dict[str, Any]) -> list[tuple[str, Any]]:
    """Changes to what the report shows, each made by the API as a reader would."""
    service, cid = m["service"], m["case"]["id"]
    rad = service.headers("radiologist")
    cal = m["pacs"].calipers["fu"][0]
    lesion = m["lesions"][cal.label]
    url = f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{m['fu']}"
    (r1, c1), (r2, c2) = cal.endpoints
    pid = m["pacs"].demo.baseline.patient.patient_id

    def remeasure() -> Any:
        return service.client.put(url, headers=rad, json={
            "sop_instance_uid": cal.sop_instance_uid, "reason": "re-measured",
            "endpoints": [[r1, c1], [(r1 + r2) / 2, (c1 + c2) / 2]]})

    def relabel() -> Any:
        return service.client.patch(f"/api/v1/cases/{cid}/lesions/{lesion['id']}",
                                    headers=rad, json={"label": "renamed lesion"})

    def sign_off() -> Any:
        return service.client.post(f"/api/v1/cases/{cid}/timepoints/{m['bl']}/sign-off",
                                   headers=rad)

    def marker() -> Any:
        return service.client.post(f"/api/v1/patients/{pid}/markers", headers=rad, json={
            "name": "CEA", "unit": "ng/mL", "upper_limit_normal": 5.0, "value": 12.0,
            "date": m["pacs"].demo.baseline.study_date.isoformat()})

    return [("a measurement", remeasure), ("a lesion's label", relabel),
            ("a sign-off", sign_off), ("a tumour marker", marker)]


def test_any_change_to_what_the_report_shows_gives_a_new_report(
        measured: dict[str, Any]) -> None:  # noqa: F811
    seen: dict[str, set[str]] = {kind: set() for kind in FORMATS}
    bodies: dict[str, set[bytes]] = {kind: set() for kind in FORMATS}
    previous = _reports(measured)
    for what, change in _changes(measured):
        r = change()
        assert r.status_code in (200, 201), f"{what}: {r.status_code} {r.text}"
        now = _reports(measured)
        for kind in FORMATS:
            etag, body = now[kind]
            assert etag != previous[kind][0], f"{what} left the {kind} report's ETag"
            assert body != previous[kind][1], f"{what} left the {kind} report as it was"
            assert etag not in seen[kind] and body not in bodies[kind]
            seen[kind].add(etag)
            bodies[kind].add(body)
            # The old ETag no longer matches: the new report is sent.
            r = _get(measured, kind, **{"If-None-Match": previous[kind][0]})
            assert r.status_code == 200 and r.content == body
        previous = now
