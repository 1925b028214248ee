"""Reports and DICOM documents end to end: a measured demo patient in a real Orthanc."""

from __future__ import annotations

import copy
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless, generate_uid

from imaging.sr import read_encapsulated_pdf, read_measurement_report
from synthetic import demo_patient, generate_study, write_study
from synthetic.calipers import lesion_calipers
from tests.conftest import STORESCU_AET, Service, start_orthanc, storescu, wait_until
from tests.factories import to_bytes

pytestmark = pytest.mark.integration
MATRIX, SLICES = 128, 210


@pytest.fixture(scope="module")
def demo_pacs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo patient's baseline and follow-up in one Orthanc, pushed once per module."""
    tmp = tmp_path_factory.mktemp("report")
    proc = start_orthanc(tmp / "orthanc", username="t", password="p", stable_age_s=1)
    with proc.client() as client:
        client.put_modality(STORESCU_AET, aet=STORESCU_AET, host="127.0.0.1", port=104)
    demo = demo_patient(matrix=MATRIX, thin_slice_count=SLICES)
    files: list[Path] = []
    calipers = {}
    for name, spec, seed in (("bl", demo.baseline, 1), ("fu", demo.followup, 2)):
        datasets = generate_study(spec, seed=seed)
        calipers[name] = lesion_calipers(spec, datasets)
        files += write_study(datasets, tmp / name)
    storescu(proc, files)
    proc.demo, proc.calipers, proc.tmp = demo, calipers, tmp  # type: ignore[attr-defined]
    yield proc
    proc.stop(kill=True)


@pytest.fixture
def measured(service_factory: Any, demo_pacs: Any) -> dict[str, Any]:
    """A RECIST case with the four demo lesions measured at both timepoints (not signed)."""
    service: Service = service_factory(demo_pacs)
    pid = demo_pacs.demo.baseline.patient.patient_id
    r_ok = service.headers("radiologist")

    with demo_pacs.client() as client:  # earlier tests of this module may have added series
        in_pacs = sorted(len(st["Series"]) for st in client.resources("studies"))

    def indexed() -> bool:
        r = service.client.get(f"/api/v1/patients/{pid}/studies", headers=r_ok)
        return r.status_code == 200 and sorted(len(st["series"]) for st in r.json()) == in_pacs

    wait_until(indexed, timeout=60, interval=0.2)
    case = service.client.post(
        "/api/v1/cases", json={"patient_id": pid, "criteria": "RECIST1.1"}, headers=r_ok
    ).json()
    bl, fu = (t["id"] for t in case["timepoints"])
    lesions = {}
    for cal in demo_pacs.calipers["bl"]:
        r = service.client.post(
            f"/api/v1/cases/{case['id']}/lesions",
            headers=r_ok,
            json={
                "kind": "target",
                "organ": cal.organ,
                "nodal": cal.organ == "lymph node",
                "label": cal.label[:20],
            },
        )
        lesions[cal.label] = r.json()
    for tp, key in ((bl, "bl"), (fu, "fu")):
        for cal in demo_pacs.calipers[key]:
            r = service.client.put(
                f"/api/v1/cases/{case['id']}/lesions/{lesions[cal.label]['id']}/measurements/{tp}",
                headers=r_ok,
                json={
                    "sop_instance_uid": cal.sop_instance_uid,
                    "endpoints": [list(p) for p in cal.endpoints],
                    "length_mm": round(cal.diameter_mm, 2),
                },
            )
            assert r.status_code == 200, r.text
    return {
        "service": service,
        "case": case,
        "bl": bl,
        "fu": fu,
        "lesions": lesions,
        "pacs": demo_pacs,
    }


def _sign_all(m: dict[str, Any]) -> None:
    for tp in (m["bl"], m["fu"]):
        r = m["service"].client.post(
            f"/api/v1/cases/{m['case']['id']}/timepoints/{tp}/sign-off",
            headers=m["service"].headers("radiologist"),
        )
        assert r.status_code == 200


def test_report_json_matches_the_response_and_carries_key_images(measured: dict[str, Any]) -> None:
    service, cid = measured["service"], measured["case"]["id"]
    h = service.headers("specialist")
    response = service.client.get(f"/api/v1/cases/{cid}/response", headers=h).json()
    r = service.client.get(f"/api/v1/cases/{cid}/report?format=json", headers=h)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["timepoints"] == response["timepoints"]
    assert report["best_overall_response"] == response["best_overall_response"] == "PR"
    assert len(report["lesions"]) == 4
    for lesion in report["lesions"]:
        assert [m["timepoint_id"] for m in lesion["measurements"]] == [
            measured["bl"],
            measured["fu"],
        ]
        assert len(lesion["key_images"]) == 2
        for image in lesion["key_images"]:
            assert image["error"] is None
            assert image["crop"].startswith("data:image/png;base64,")
    assert report["notes"] and "oncologist" in report["disclaimer"]
    assert (
        service.client.get(
            f"/api/v1/cases/{cid}/report", headers={**h, "Accept": "application/json"}
        ).status_code
        == 200
    )
    assert (
        service.client.get(f"/api/v1/cases/{cid}/report?format=xml", headers=h).status_code == 422
    )
    assert (
        service.client.get(
            f"/api/v1/cases/{cid}/report", headers={**h, "Accept": "image/png"}
        ).status_code
        == 406
    )
    assert (
        service.client.get(
            f"/api/v1/cases/{cid}/report", headers=service.headers("uploader")
        ).status_code
        == 403
    )


def test_a_second_report_reuses_the_key_images_until_a_measurement_changes(
    measured: dict[str, Any],
) -> None:
    """Rendered key images are kept per measurement version: the second report fetches no
    frame from Orthanc; a new version of one measurement renders that one image anew."""
    service, cid = measured["service"], measured["case"]["id"]
    pacs = service.app.state.pacs
    fetched: list[str] = []
    fetch = pacs.instance_file

    def counting(orthanc_id: str) -> bytes:
        fetched.append(orthanc_id)
        return fetch(orthanc_id)  # the real Orthanc answers

    pacs.instance_file = counting
    h = service.headers("specialist")

    def key_images() -> list[tuple[str, str]]:
        r = service.client.get(f"/api/v1/cases/{cid}/report?format=json", headers=h)
        assert r.status_code == 200, r.text
        return [(i["sop_instance_uid"], i["crop"]) for les in r.json()["lesions"]
                for i in les["key_images"]]

    first = key_images()
    assert len(fetched) == len(first) == 8
    assert key_images() == first
    pdf = service.client.get(f"/api/v1/cases/{cid}/report?format=pdf", headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(fetched) == 8, "a second report fetched frames from Orthanc again"

    # A new version of one measurement (a shorter caliper) is a new key: rendered anew.
    cal = measured["pacs"].calipers["fu"][0]
    lesion = measured["lesions"][cal.label]
    (r1, c1), (r2, c2) = cal.endpoints
    shorter = [[r1, c1], [(r1 + r2) / 2, (c1 + c2) / 2]]
    r = service.client.put(
        f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{measured['fu']}",
        headers=service.headers("radiologist"),
        json={"sop_instance_uid": cal.sop_instance_uid, "endpoints": shorter,
              "reason": "re-measured"},
    )
    assert r.status_code == 200, r.text
    third = key_images()
    assert len(fetched) == 9
    changed = [i for i, (a, b) in enumerate(zip(first, third, strict=True)) if a != b]
    assert len(changed) == 1 and third[changed[0]][0] == cal.sop_instance_uid


def test_report_pdf_renders_every_page(measured: dict[str, Any], tmp_path: Path) -> None:
    service, cid = measured["service"], measured["case"]["id"]
    r = service.client.get(
        f"/api/v1/cases/{cid}/report",
        headers={**service.headers("specialist"), "Accept": "application/pdf"},
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    html = service.client.get(
        f"/api/v1/cases/{cid}/report?format=html", headers=service.headers("specialist")
    )
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    for label in measured["lesions"]:
        assert label[:20] in html.text
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "report.pdf").write_bytes(r.content)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(tmp_path / "report.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"))
        assert pixels.std() > 5  # text, tables and images, not a blank page


def test_sr_export_validates_and_round_trips(measured: dict[str, Any], tmp_path: Path) -> None:
    service, cid = measured["service"], measured["case"]["id"]
    r = service.client.get(
        f"/api/v1/cases/{cid}/timepoints/{measured['fu']}/sr", headers=service.headers("specialist")
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/dicom"
    ds = pydicom.dcmread(BytesIO(r.content))
    assert ds.StudyInstanceUID == measured["fu"]
    if shutil.which("dciodvfy"):
        (tmp_path / "sr.dcm").write_bytes(r.content)
        out = subprocess.run(
            ["dciodvfy", str(tmp_path / "sr.dcm")], capture_output=True, text=True, timeout=60
        )
        errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
        assert errors == []
    report = read_measurement_report(ds)
    tracking = {les["tracking_uid"]: les for les in measured["lesions"].values()}
    assert {m.tracking_uid for m in report.measurements} == set(tracking)
    by_lesion = {}
    for les in measured["lesions"].values():
        cur = service.client.get(
            f"/api/v1/cases/{cid}/lesions/{les['id']}/measurements/{measured['fu']}",
            headers=service.headers("specialist"),
        ).json()
        by_lesion[les["tracking_uid"]] = cur
    for m in report.measurements:
        assert m.length_mm == pytest.approx(by_lesion[m.tracking_uid]["length_mm"], abs=0.01)
        assert m.source is not None
        assert m.source.sop_instance_uid == by_lesion[m.tracking_uid]["sop_instance_uid"]

    # Round trip: the exported SR imported into a fresh case reproduces the measurements.
    pid = measured["pacs"].demo.baseline.patient.patient_id
    other = service.client.post(
        "/api/v1/cases",
        json={"patient_id": pid, "criteria": "RECIST1.1", "allow_duplicate": True},
        headers=service.headers("radiologist"),
    ).json()
    imp = service.client.post(
        f"/api/v1/cases/{other['id']}/sr",
        content=r.content,
        headers={**service.headers("radiologist"), "Content-Type": "application/dicom"},
    )
    assert imp.status_code == 200, imp.text
    got = sorted(i["length_mm"] for i in imp.json()["imported"])
    assert got == pytest.approx(sorted(v["length_mm"] for v in by_lesion.values()), abs=0.01)
    assert {i["timepoint_id"] for i in imp.json()["imported"]} == {measured["fu"]}
    again = service.client.post(
        f"/api/v1/cases/{other['id']}/sr",
        content=r.content,
        headers={**service.headers("radiologist"), "Content-Type": "application/dicom"},
    )
    lesions = service.client.get(
        f"/api/v1/cases/{other['id']}/lesions", headers=service.headers("radiologist")
    ).json()
    assert again.status_code == 200 and len(lesions) == 4  # matched by Tracking UID
    bad = service.client.post(
        f"/api/v1/cases/{other['id']}/sr",
        content=b"not dicom",
        headers={**service.headers("radiologist"), "Content-Type": "application/dicom"},
    )
    assert bad.status_code == 400
    ct = to_bytes(pydicom.dcmread(next((measured["pacs"].tmp / "bl").rglob("*.dcm"))))
    not_sr = service.client.post(
        f"/api/v1/cases/{other['id']}/sr",
        content=ct,
        headers={**service.headers("radiologist"), "Content-Type": "application/dicom"},
    )
    assert not_sr.status_code == 422
    assert (
        service.client.post(
            f"/api/v1/cases/{other['id']}/sr",
            content=r.content,
            headers=service.headers("specialist"),
        ).status_code
        == 403
    )


def _dciodvfy_errors(data: bytes, tmp_path: Path) -> list[str]:
    assert shutil.which("dciodvfy"), "dciodvfy missing: bash scripts/setup.sh dev installs it"
    path = tmp_path / "object.dcm"
    path.write_bytes(data)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]


def test_publish_needs_sign_off_then_stores_sr_and_pdf(
    measured: dict[str, Any], tmp_path: Path
) -> None:
    service, cid = measured["service"], measured["case"]["id"]
    r = service.client.post(f"/api/v1/cases/{cid}/publish", headers=service.headers("radiologist"))
    assert r.status_code == 409 and measured["bl"] in r.json()["detail"]
    _sign_all(measured)
    assert (
        service.client.post(
            f"/api/v1/cases/{cid}/publish", headers=service.headers("specialist")
        ).status_code
        == 403
    )
    r = service.client.post(f"/api/v1/cases/{cid}/publish", headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    objects = r.json()["objects"]
    assert sorted((o["kind"], o["study_instance_uid"]) for o in objects) == sorted(
        [("sr", measured["bl"]), ("sr", measured["fu"]), ("pdf", measured["fu"])]
    )
    with measured["pacs"].client() as client:
        for o in objects:
            orthanc_id = client.find_instance(o["sop_instance_uid"])
            assert orthanc_id is not None
            ds = pydicom.dcmread(BytesIO(client.instance_file(orthanc_id)))
            assert ds.StudyInstanceUID == o["study_instance_uid"]
            if o["kind"] == "pdf":
                assert read_encapsulated_pdf(ds).startswith(b"%PDF")
            assert _dciodvfy_errors(client.instance_file(orthanc_id), tmp_path) == []

    # An amendment, then a second publication that references what it replaces.
    les = next(iter(measured["lesions"].values()))
    cal = measured["pacs"].calipers["fu"][0]
    amend = service.client.put(
        f"/api/v1/cases/{cid}/lesions/{les['id']}/measurements/{measured['fu']}",
        headers=service.headers("radiologist"),
        json={
            "sop_instance_uid": cal.sop_instance_uid,
            "endpoints": [list(p) for p in cal.endpoints],
            "amendment_reason": "re-measured on review",
        },
    )
    assert amend.status_code == 200
    second = service.client.post(
        f"/api/v1/cases/{cid}/publish", headers=service.headers("admin")
    ).json()["objects"]
    first = {(o["kind"], o["study_instance_uid"]): o["sop_instance_uid"] for o in objects}
    for o in second:
        assert o["replaces"] == first[(o["kind"], o["study_instance_uid"])]
        assert o["sop_instance_uid"] != o["replaces"]


def test_sr_saved_in_a_viewer_becomes_a_draft(measured: dict[str, Any], tmp_path: Path) -> None:
    service, cid = measured["service"], measured["case"]["id"]
    exported = service.client.get(
        f"/api/v1/cases/{cid}/timepoints/{measured['bl']}/sr",
        headers=service.headers("radiologist"),
    ).content
    # As if another viewer had saved it: another maker, new UIDs, stored into Orthanc.
    ds = pydicom.dcmread(BytesIO(exported))
    ds.Manufacturer = "OHIF"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.save_as(tmp_path / "viewer-sr.dcm", enforce_file_format=True)
    storescu(measured["pacs"], [tmp_path / "viewer-sr.dcm"])
    h = service.headers("radiologist")

    def drafts() -> list[dict[str, Any]]:
        return list(
            service.client.get(f"/api/v1/cases/{cid}/sr-drafts", headers=h).json()["drafts"]
        )

    pending = wait_until(lambda: [d for d in drafts() if d["status"] == "pending"
                                  and d["sop_instance_uid"] == ds.SOPInstanceUID], timeout=60)
    url = f"/api/v1/cases/{cid}/sr-drafts/{pending[0]['id']}/confirm"
    assert service.client.post(url, headers=service.headers("specialist")).status_code == 403
    r = service.client.post(url, headers=h)
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 4, r.text
    assert r.json()["draft"]["status"] == "confirmed"
    assert service.client.post(url, headers=h).status_code == 409
    # A case created after the SR arrived is offered it as a draft as well.
    pid = measured["pacs"].demo.baseline.patient.patient_id
    later = service.client.post("/api/v1/cases", json={"patient_id": pid,
                                                       "criteria": "iRECIST"}, headers=h).json()
    offered = service.client.get(f"/api/v1/cases/{later['id']}/sr-drafts", headers=h).json()
    assert ds.SOPInstanceUID in {d["sop_instance_uid"] for d in offered["drafts"]
                                 if d["status"] == "pending"}


def test_undecodable_image_is_named_in_the_report(measured: dict[str, Any]) -> None:
    service, cid = measured["service"], measured["case"]["id"]
    cal = measured["pacs"].calipers["fu"][0]
    source = next(
        p
        for p in (measured["pacs"].tmp / "fu").rglob("*.dcm")
        if pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID == cal.sop_instance_uid
    )
    broken = copy.deepcopy(pydicom.dcmread(source))
    broken.SOPInstanceUID = broken.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    broken.SeriesInstanceUID, broken.SeriesNumber = generate_uid(), 77
    broken.file_meta.TransferSyntaxUID = JPEGLSLossless
    broken.PixelData = encapsulate([b"\xff\xd8 not a JPEG-LS codestream \xff\xd9"])
    up = service.client.post(
        "/api/v1/dicom",
        content=to_bytes(broken),
        headers={**service.headers("uploader"), "Content-Type": "application/dicom"},
    )
    assert up.status_code == 200, up.text
    lesion = service.client.post(
        f"/api/v1/cases/{cid}/lesions",
        json={"kind": "target", "organ": "lung", "label": "T-broken"},
        headers=service.headers("radiologist"),
    ).json()

    def measure() -> bool:
        r = service.client.put(
            f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{measured['fu']}",
            headers=service.headers("radiologist"),
            json={
                "sop_instance_uid": broken.SOPInstanceUID,
                "endpoints": [list(p) for p in cal.endpoints],
            },
        )
        return r.status_code == 200

    wait_until(measure, timeout=60, interval=0.3)  # once the new series is indexed
    bl_cal = measured["pacs"].calipers["bl"][0]
    service.client.put(
        f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{measured['bl']}",
        headers=service.headers("radiologist"),
        json={
            "sop_instance_uid": bl_cal.sop_instance_uid,
            "endpoints": [list(p) for p in bl_cal.endpoints],
        },
    )
    report = service.client.get(
        f"/api/v1/cases/{cid}/report?format=json", headers=service.headers("specialist")
    )
    assert report.status_code == 200, report.text
    row = next(les for les in report.json()["lesions"] if les["label"] == "T-broken")
    errors = [im["error"] for im in row["key_images"] if im["error"]]
    assert len(errors) == 1 and broken.SOPInstanceUID in errors[0]
    pdf = service.client.get(
        f"/api/v1/cases/{cid}/report?format=pdf", headers=service.headers("specialist")
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def _sends(service: Service, case_id: int) -> list[dict[str, Any]]:
    r = service.client.get(f"/api/v1/cases/{case_id}/publications",
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    return [send | {"sop_instance_uid": p["sop_instance_uid"]}
            for p in r.json()["publications"] for send in p["sends"]]


def test_publish_while_the_hospital_pacs_is_down_arrives_once_it_is_up(
    measured: dict[str, Any], service_factory: Any, tmp_path: Path
) -> None:
    """The outbox: queued with the publication, retried with back-off, kept across a
    restart of Nadir, delivered exactly once when the hospital PACS is back."""
    # The fixture's own service shares the database, and so the outbox, with the two built
    # here; its sender, with the default back-off (5 s doubling), would push the rows' next
    # attempt minutes ahead while the hospital is down. One retry policy per deployment.
    measured["service"].app.state.outbox.stop()
    hospital = start_orthanc(tmp_path / "hospital", username="h", password="h", aet="HOSPITAL")
    try:
        with hospital.client() as client:  # the hospital PACS accepts Nadir as a peer
            client.put_modality("NADIR", aet="NADIR", host="127.0.0.1", port=104)
        # Down during the publication. Stopped cleanly, so that the peer just registered
        # is surely in its database when it comes back.
        hospital.stop()
        # Fast retries for the test; enough attempts that a slow machine cannot use them
        # all up (the row would end `failed`) before the hospital is back.
        settings = {"remote_ae_title": "HOSPITAL", "remote_ae_host": "127.0.0.1",
                    "remote_ae_port": hospital.config.dicom_port,
                    "outbox_retry_base_s": 0.2, "outbox_retry_max_s": 0.5,
                    "outbox_max_attempts": 10_000}
        first = service_factory(measured["pacs"], ingest=False,
                                tokens=measured["service"].tokens, **settings)
        _sign_all(measured)
        cid = measured["case"]["id"]
        r = first.client.post(f"/api/v1/cases/{cid}/publish",
                              headers=first.headers("radiologist"))
        assert r.status_code == 201, r.text
        destination = f"HOSPITAL@127.0.0.1:{hospital.config.dicom_port}"
        assert r.json()["remote"] == {"configured": True, "destination": destination,
                                      "queued": 3}
        objects = {o["sop_instance_uid"] for o in r.json()["objects"]}
        # Tried, refused by the network, and still pending, each with the real cause.
        tried = wait_until(lambda: [s for s in _sends(first, cid) if s["attempts"] >= 2]
                           if all(s["attempts"] >= 2 for s in _sends(first, cid)) else None,
                           timeout=60)
        assert {s["sop_instance_uid"] for s in tried} == objects
        assert {(s["destination"], s["state"]) for s in tried} == {(destination, "pending")}
        assert all("Connection refused" in s["last_error"] for s in tried)
        first.client.__exit__(None, None, None)  # Nadir stops with the sends pending

        hospital.start()
        second = service_factory(measured["pacs"], ingest=False,
                                 tokens=measured["service"].tokens, **settings)
        sent = wait_until(lambda: all(s["state"] == "sent" for s in _sends(second, cid))
                          and _sends(second, cid), timeout=60)
        assert {s["sop_instance_uid"] for s in sent} == objects
        assert all(s["last_error"] is None and s["sent_at"] for s in sent)
        with hospital.client() as client:
            assert sorted(i["MainDicomTags"]["SOPInstanceUID"]
                          for i in client.resources("instances")) == sorted(objects)
    finally:
        hospital.stop(kill=True)


def _readings(service: Service, case_id: int) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(label, timepoint) -> the reading as the API shows it, with its lesion's kind."""
    h = service.headers("radiologist")
    lesions = {les["id"]: les for les in service.client.get(
        f"/api/v1/cases/{case_id}/lesions", headers=h).json()}
    rows = service.client.get(f"/api/v1/cases/{case_id}/measurements", headers=h).json()
    return {(lesions[m["lesion_id"]]["label"], m["timepoint_id"]): (
        lesions[m["lesion_id"]]["kind"], lesions[m["lesion_id"]]["timepoint"],
        lesions[m["lesion_id"]]["tracking_uid"], lesions[m["lesion_id"]]["nodal"],
        m["status"], m["length_mm"], m["point"], m["sop_instance_uid"], m["frame"],
        m["endpoints"]) for m in rows["measurements"]}


def test_status_readings_round_trip_through_the_sr(measured: dict[str, Any]) -> None:
    """A case with measured targets, a not-evaluable target, a non-target with its point
    and a new lesion: each timepoint's SR, imported into a new case of the patient, gives
    the same readings (status, point, image, kind, label, first sighting) and response."""
    service, cid = measured["service"], measured["case"]["id"]
    h = service.headers("radiologist")
    bl, fu = measured["bl"], measured["fu"]
    images = {key: [c.sop_instance_uid for c in measured["pacs"].calipers[key]]
              for key in ("bl", "fu")}

    def add(kind: str, label: str, **extra: Any) -> int:
        r = service.client.post(f"/api/v1/cases/{cid}/lesions", headers=h, json={
            "kind": kind, "organ": "bone", "label": label, **extra})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def put(lesion: int, tp: str, body: dict[str, Any]) -> None:
        r = service.client.put(f"/api/v1/cases/{cid}/lesions/{lesion}/measurements/{tp}",
                               headers=h, json=body)
        assert r.status_code == 200, r.text

    nt1, n1 = add("non_target", "NT1"), add("new", "N1", timepoint=fu)
    present = {"status": "present"}
    put(nt1, bl, {**present, "point": [40.5, 60.25], "sop_instance_uid": images["bl"][0]})
    put(nt1, fu, {**present, "point": [41.0, 61.0], "sop_instance_uid": images["fu"][1]})
    put(n1, fu, {**present, "point": [70.0, 20.5], "sop_instance_uid": images["fu"][0]})
    not_evaluable = next(iter(measured["lesions"].values()))["id"]
    put(not_evaluable, fu, {"status": "not_evaluable"})

    pid = measured["pacs"].demo.baseline.patient.patient_id
    other = service.client.post("/api/v1/cases", headers=h, json={
        "patient_id": pid, "criteria": "RECIST1.1", "allow_duplicate": True}).json()["id"]
    for tp in (fu, bl):  # the follow-up first: the new lesion keeps its first sighting
        sr = service.client.get(f"/api/v1/cases/{cid}/timepoints/{tp}/sr", headers=h)
        assert sr.status_code == 200
        imp = service.client.post(f"/api/v1/cases/{other}/sr", content=sr.content, headers={
            **h, "Content-Type": "application/dicom"})
        assert imp.status_code == 200, imp.text
        # Only the SR's responses are left out: Nadir computes them from the readings.
        assert {n["why"] for n in imp.json()["not_mapped"]} <= {
            "responses are recomputed by Nadir from the measurements, not imported"}
    statuses = {i["status"] for i in imp.json()["imported"]}
    assert statuses == {None, "present"}  # the baseline's report

    original, imported = _readings(service, cid), _readings(service, other)
    assert imported.keys() == original.keys()
    for key, reading in original.items():
        assert imported[key][:-1] == reading[:-1], key
        # SCOORD Graphic Data is FL (PS3.3 C.18.6.1.2): a caliper's ends come back in
        # single precision.
        ends = [v for point in reading[-1] or [] for v in point]
        assert [v for point in imported[key][-1] or [] for v in point] == pytest.approx(
            ends, abs=1e-4), key
    assert original[("N1", fu)][:2] == ("new", fu)
    assert original[("NT1", fu)][4:7] == ("present", None, [41.0, 61.0])

    def response(case_id: int) -> Any:
        body = service.client.get(f"/api/v1/cases/{case_id}/response", headers=h).json()
        return body["timepoints"], body["best_overall_response"]
    assert response(other) == response(cid)
    assert response(cid)[0][1]["overall_response"] == "PD"  # the new lesion
