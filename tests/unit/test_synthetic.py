"""The synthetic CT generator: valid objects, consistent geometry, lesions of known size."""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom import Dataset, config, dcmread
from scipy import ndimage

from imaging import rigid
from imaging.geometry import slice_normal
from measurement.codec import evaluate_request
from synthetic import (
    DemoPatient,
    SeriesKind,
    StudySpec,
    SyntheticLesion,
    SyntheticSpecError,
    demo_patient,
    generate_study,
    iter_study,
    uids_of,
    with_renamed_descriptions,
    with_shuffled_series,
    without_series,
    write_study,
)
from synthetic.demo import FOLLOWUP_DIAMETERS_MM, MAX_TIMEPOINTS, NEW_LESION

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MATRIX = 256


@pytest.fixture(scope="module")
def demo() -> DemoPatient:
    return demo_patient(matrix=MATRIX, distractors=True)


@pytest.fixture(scope="module")
def baseline(demo: DemoPatient) -> dict[str, list[Dataset]]:
    return _by_key(demo.baseline, seed=11)


@pytest.fixture(scope="module")
def followup(demo: DemoPatient) -> dict[str, list[Dataset]]:
    return _by_key(demo.followup, seed=12)


def _by_key(spec: StudySpec, seed: int) -> dict[str, list[Dataset]]:
    """The study's objects grouped by series key (the series' role)."""
    uids = uids_of(spec, seed)
    key_of = {uids.series_uid(s.key): s.key for s in spec.series}
    grouped: dict[str, list[Dataset]] = defaultdict(list)
    # Values set on objects are validated as they would be on writing; any invalid
    # value (a too-long DS, a bad UID) raises here instead of being written.
    with _strict_writing():
        for ds in iter_study(spec, seed):
            grouped[key_of[ds.SeriesInstanceUID]].append(ds)
    return dict(grouped)


class _strict_writing:
    def __enter__(self) -> None:
        self._saved = config.settings.writing_validation_mode
        config.settings.writing_validation_mode = config.RAISE

    def __exit__(self, *exc: object) -> None:
        config.settings.writing_validation_mode = self._saved


def _hu(ds: Dataset) -> np.ndarray:
    return ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def _pixel_of(ds: Dataset, point: tuple[float, float, float]) -> tuple[int, int]:
    """(row, column) of a patient-coordinate point on an axial slice."""
    x0, y0, _ = (float(v) for v in ds.ImagePositionPatient)
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    return round((point[1] - y0) / row_spacing), round((point[0] - x0) / column_spacing)


def _slice_at(series: list[Dataset], z: float) -> Dataset:
    return min(series, key=lambda ds: abs(float(ds.ImagePositionPatient[2]) - z))


def _measured_diameters(
    ds: Dataset, lesion: SyntheticLesion, centre: tuple[float, ...]
) -> tuple[float, float]:
    """In-plane extent (x, y) in mm of the lesion's connected region on one slice.

    Threshold half-way between the lesion's HU and the median of a ring around it, keep
    the component holding the centre pixel, and multiply its extent in pixels by
    PixelSpacing, as a caliper on screen would.
    """
    hu = ndimage.median_filter(_hu(ds), size=3)
    row, col = _pixel_of(ds, (centre[0], centre[1], centre[2]))
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    radius_px = lesion.radius_mm / column_spacing
    rr, cc = np.ogrid[: hu.shape[0], : hu.shape[1]]
    distance = np.hypot(rr - row, cc - col)
    ring = (distance > radius_px + 2) & (distance < radius_px + 5)
    background = float(np.median(hu[ring]))
    threshold = (lesion.hu + background) / 2.0
    inside = hu > threshold if lesion.hu > background else hu < threshold
    labels, _ = ndimage.label(inside & (distance < radius_px + 4))
    component = labels == labels[row, col]
    rows, cols = np.nonzero(component)
    return (
        (cols.max() - cols.min() + 1) * column_spacing,
        (rows.max() - rows.min() + 1) * row_spacing,
    )


# --- validity ------------------------------------------------------------------------


def test_every_object_round_trips_through_a_file(
    baseline: dict[str, list[Dataset]], tmp_path: Path
) -> None:
    one_of_each = [series[len(series) // 2] for series in baseline.values()]
    paths = write_study(one_of_each, tmp_path)
    assert len(paths) == len(one_of_each)
    for original, path in zip(one_of_each, paths, strict=True):
        read = dcmread(path)
        assert read.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"  # Explicit VR LE
        assert read.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
        assert read == original
        if "PixelData" in original:
            assert np.array_equal(read.pixel_array, original.pixel_array)


DCIODVFY = shutil.which("dciodvfy")


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian package dicom3tools) not installed")
@pytest.mark.parametrize(
    "key", ["lung_thin", "soft_plain", "scout", "coronal_mpr", "dose_screen", "dose_report"]
)
def test_dciodvfy_reports_no_errors(
    baseline: dict[str, list[Dataset]], key: str, tmp_path: Path
) -> None:
    series = baseline[key]
    (path,) = write_study([series[len(series) // 2]], tmp_path)
    assert DCIODVFY is not None
    result = subprocess.run(
        [DCIODVFY, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    report = result.stdout + result.stderr
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert errors == [], report


DSRDUMP = shutil.which("dsrdump")


@pytest.mark.skipif(DSRDUMP is None, reason="dsrdump (Debian package dcmtk) not installed")
def test_dose_report_satisfies_dcmtk_sr_checks(
    baseline: dict[str, list[Dataset]], tmp_path: Path
) -> None:
    # dciodvfy checks the SR modules but not the content tree; dcmtk's reader checks the
    # tree against the X-Ray Radiation Dose SR IOD's relationship constraints.
    (path,) = write_study(baseline["dose_report"], tmp_path)
    assert DSRDUMP is not None
    result = subprocess.run(
        [DSRDUMP, "-v", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "W: " not in result.stderr and "E: " not in result.stderr, result.stderr
    assert "CT Accumulated Dose Data" in result.stdout


def test_ct_modules_are_filled(baseline: dict[str, list[Dataset]]) -> None:
    ds = baseline["lung_thin"][0]
    assert ds.SOPClassUID == CT_IMAGE_STORAGE
    assert ds.Modality == "CT"
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert ds.ConvolutionKernel == "LUNG"
    assert ds.BodyPartExamined == "CHESTABDOMEN"
    assert float(ds.SliceThickness) == 1.25
    assert float(ds.SpacingBetweenSlices) == 1.25
    assert ds.ContrastBolusAgent
    assert "ContrastBolusAgent" not in baseline["soft_plain"][0]
    for keyword in (
        "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
        "AccessionNumber", "StudyDescription", "StudyID", "ReferringPhysicianName",
        "SeriesNumber", "SeriesDescription", "ProtocolName", "KVP", "Manufacturer",
        "WindowCenter", "WindowWidth", "InstanceNumber", "TableHeight", "FrameOfReferenceUID",
    ):  # fmt: skip
        assert ds.get(keyword) not in (None, ""), keyword


def test_stored_values_are_unsigned_and_rescale_to_hu(baseline: dict[str, list[Dataset]]) -> None:
    ds = baseline["lung_thin"][0]
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    # Intercept -1024 keeps every stored value >= 0, so unsigned storage is consistent.
    assert ds.PixelRepresentation == 0
    assert (float(ds.RescaleIntercept), float(ds.RescaleSlope)) == (-1024.0, 1.0)
    stored = ds.pixel_array
    assert stored.dtype == np.uint16
    assert int(stored.max()) <= 4095


def test_tissues_have_their_hounsfield_units(
    demo: DemoPatient, baseline: dict[str, list[Dataset]]
) -> None:
    spec = demo.baseline
    plain = baseline["soft_plain"]
    enhanced = baseline["soft_5mm"]

    def mean_hu(series: list[Dataset], body_point: tuple[float, float, float]) -> float:
        point = spec.to_patient_mm(body_point)
        ds = _slice_at(series, point[2])
        row, col = _pixel_of(ds, point)
        return float(_hu(ds)[row - 3 : row + 4, col - 3 : col + 4].mean())

    assert mean_hu(plain, (-75.0, -10.0, -100.0)) == pytest.approx(-850, abs=10)  # right lung
    assert mean_hu(plain, (0.0, -150.0, -100.0)) == pytest.approx(-1000, abs=10)  # air
    assert mean_hu(plain, (0.0, 63.0, -110.0)) == pytest.approx(700, abs=10)  # vertebra
    assert mean_hu(plain, (-155.0, 0.0, -300.0)) == pytest.approx(-100, abs=10)  # fat
    # The liver enhances in the portal-venous phase.
    assert mean_hu(plain, (-60.0, 5.0, -280.0)) == pytest.approx(55, abs=10)
    assert mean_hu(enhanced, (-60.0, 5.0, -280.0)) == pytest.approx(105, abs=10)


# --- geometry ------------------------------------------------------------------------


def test_axial_slices_run_head_to_feet_at_their_spacing(
    baseline: dict[str, list[Dataset]],
) -> None:
    for key in ("lung_thin", "soft_5mm"):
        series = baseline[key]
        z = [float(ds.ImagePositionPatient[2]) for ds in series]
        assert [ds.InstanceNumber for ds in series] == list(range(1, len(series) + 1))
        steps = np.diff(z)
        assert np.allclose(steps, -float(series[0].SpacingBetweenSlices))
        assert all(
            float(ds.SliceLocation) == pytest.approx(zz) for ds, zz in zip(series, z, strict=True)
        )
        assert all(list(ds.ImageOrientationPatient) == [1, 0, 0, 0, 1, 0] for ds in series)
    thin, thick = baseline["lung_thin"], baseline["soft_5mm"]
    # Both reconstructions of one scan cover the same range.
    assert float(thin[0].ImagePositionPatient[2]) == float(thick[0].ImagePositionPatient[2])
    assert len(thin) == 300
    assert float(thin[0].PixelSpacing[0]) * thin[0].Columns == pytest.approx(380.0)


def test_table_top_lies_under_the_patient(
    demo: DemoPatient, baseline: dict[str, list[Dataset]]
) -> None:
    ds = _slice_at(baseline["soft_plain"], demo.baseline.to_patient_mm((0, 0, -150.0))[2])
    hu = _hu(ds)
    table_row, col = _pixel_of(ds, (0.0, float(ds.TableHeight) + 2.0, 0.0))
    assert hu[table_row, col] > 150  # the carbon-fibre skin of the table top
    skin_row, _ = _pixel_of(ds, (0.0, float(ds.TableHeight) - 12.0, 0.0))
    assert hu[skin_row, col] > -200  # the patient's back, just above the mattress


def test_study_series_share_one_frame_of_reference(
    demo: DemoPatient, baseline: dict[str, list[Dataset]], followup: dict[str, list[Dataset]]
) -> None:
    image_series = ("scout", "lung_thin", "soft_5mm", "soft_plain", "bone_thin", "coronal_mpr")
    frames = {ds.FrameOfReferenceUID for key in image_series for ds in baseline[key]}
    assert len(frames) == 1
    b0, f0 = baseline["lung_thin"][0], followup["lung_thin"][0]
    assert b0.FrameOfReferenceUID != f0.FrameOfReferenceUID
    assert b0.StudyInstanceUID != f0.StudyInstanceUID
    assert b0.StudyDate < f0.StudyDate
    assert float(b0.TableHeight) != float(f0.TableHeight)
    all_objects = [ds for series in baseline.values() for ds in series]
    assert len({ds.SOPInstanceUID for ds in all_objects}) == len(all_objects)
    assert len({ds.StudyInstanceUID for ds in all_objects}) == 1


def test_localizer_has_two_projection_views(baseline: dict[str, list[Dataset]]) -> None:
    scout = baseline["scout"]
    assert len(scout) == 2
    planes = set()
    for ds in scout:
        assert ds.SOPClassUID == CT_IMAGE_STORAGE
        assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "LOCALIZER"]
        normal = slice_normal([float(v) for v in ds.ImageOrientationPatient])
        planes.add(tuple(round(abs(v)) for v in normal))
    assert planes == {(0, 1, 0), (1, 0, 0)}  # frontal (coronal) and lateral (sagittal)


def test_non_image_objects(baseline: dict[str, list[Dataset]]) -> None:
    (sr,) = baseline["dose_report"]
    assert (sr.SOPClassUID, sr.Modality) == (XRAY_RADIATION_DOSE_SR, "SR")
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "10011"
    assert sr.ConceptNameCodeSequence[0].CodeValue == "113701"
    (page,) = baseline["dose_screen"]
    assert (page.SOPClassUID, page.Modality) == (SECONDARY_CAPTURE, "CT")


# --- lesions -------------------------------------------------------------------------


@pytest.mark.parametrize("timepoint", ["baseline", "followup"])
def test_lesions_measure_their_diameter_on_the_central_slice(
    demo: DemoPatient,
    baseline: dict[str, list[Dataset]],
    followup: dict[str, list[Dataset]],
    timepoint: str,
) -> None:
    spec = demo.baseline if timepoint == "baseline" else demo.followup
    series = (baseline if timepoint == "baseline" else followup)["soft_5mm"]
    for lesion in spec.lesions:
        centre = spec.lesion_center_patient_mm(lesion.label)
        ds = _slice_at(series, centre[2])
        assert float(ds.ImagePositionPatient[2]) == pytest.approx(centre[2])
        spacing = float(ds.PixelSpacing[1])
        for measured in _measured_diameters(ds, lesion, centre):
            assert abs(measured - lesion.diameter_mm) <= 2 * spacing, (lesion.label, measured)


def test_followup_lesions_have_the_followup_sizes(demo: DemoPatient) -> None:
    sizes = {les.label: les.diameter_mm for les in demo.followup.lesions}
    assert sizes == FOLLOWUP_DIAMETERS_MM
    before = sum(les.diameter_mm for les in demo.baseline.lesions)
    after = sum(sizes.values())
    # RECIST 1.1 partial response: at least 30 % decrease in the sum of diameters.
    assert (before - after) * 100 >= 30 * before


def _evaluation(demo: DemoPatient) -> dict[str, object]:
    """The engine's verdict on the demo's true diameters: the baseline's lesions as targets,
    every lesion that appears later as a new lesion (RECIST 1.1 section 4.3.2)."""
    ids = [f"TP{index}" for index in range(len(demo.studies))]
    sizes = [{les.label: les.diameter_mm for les in spec.lesions} for spec in demo.studies]
    targets = [{"id": les.label, "kind": "target", "organ": les.organ,
                "nodal": les.organ == "lymph node",
                "measurements": {tp: size[les.label] for tp, size in zip(ids, sizes, strict=True)}}
               for les in demo.baseline.lesions]
    first_seen = {label: tp for tp, size in reversed(list(zip(ids, sizes, strict=True)))
                  for label in size}
    new = [{"id": label, "kind": "new", "organ": "lung", "timepoint": tp, "equivocal": False}
           for label, tp in first_seen.items() if tp != ids[0]]
    return evaluate_request({
        "criteria": "RECIST1.1", "confirmation_required": False,
        "timepoints": [{"id": tp, "date": spec.study_date.isoformat()}
                       for tp, spec in zip(ids, demo.studies, strict=True)],
        "lesions": targets + new})


@pytest.mark.parametrize("timepoints", [2, 3, MAX_TIMEPOINTS])
def test_the_demo_responds_then_progresses_by_a_new_lesion(timepoints: int) -> None:
    demo = demo_patient(matrix=64, timepoints=timepoints)
    assert len(demo.studies) == timepoints
    dates = [spec.study_date for spec in demo.studies]
    assert dates == sorted(dates) and len(set(dates)) == timepoints
    assert len({spec.accession_number for spec in demo.studies}) == timepoints
    result = _evaluation(demo)
    rows = result["timepoints"]
    assert isinstance(rows, list)
    assert [row.get("overall_response") for row in rows] == \
        [None, "PR"] + ["PD"] * (timepoints - 2)
    for row in rows[2:]:
        # Progression by the new lesion alone: the targets stay 2 mm above their nadir (the
        # first follow-up's 60 mm), short of RECIST 1.1 section 4.3.1's 20 % and 5 mm, and
        # still at least 30 % below the baseline.
        assert (row["target_response"], row["new_lesions"], row["nadir_mm"],
                row["change_from_nadir_mm"]) == ("PR", True, 60.0, 2.0)
    assert result["best_overall_response"] == "PR"


def test_the_new_lesion_appears_at_the_second_followup_with_its_size() -> None:
    demo = demo_patient(matrix=128, timepoints=3)
    lesion = demo.followups[1].lesion(NEW_LESION.label)
    assert NEW_LESION.label not in {les.label for les in demo.followup.lesions}
    seen = []
    for seed, spec in ((2, demo.followup), (3, demo.followups[1])):
        series = _by_key(without_series(spec, "scout", "lung_thin", "dose_report"), seed)
        centre = spec.to_patient_mm(lesion.center_mm)
        ds = _slice_at(series["soft_5mm"], centre[2])
        assert float(ds.ImagePositionPatient[2]) == pytest.approx(centre[2])
        seen.append(float(_hu(ds)[_pixel_of(ds, centre)]))
        if spec is demo.followups[1]:
            for measured in _measured_diameters(ds, lesion, centre):
                assert abs(measured - lesion.diameter_mm) <= 2 * float(ds.PixelSpacing[1])
    # Lung at the first follow-up, solid tissue at the second (noise: 7 HU SD).
    assert seen[0] < -700 and abs(seen[1] - lesion.hu) < 40


def test_lung_nodule_is_visible_on_the_thin_lung_series(
    demo: DemoPatient, baseline: dict[str, list[Dataset]]
) -> None:
    lesion = demo.baseline.lesion("RUL nodule")
    centre = demo.baseline.lesion_center_patient_mm(lesion.label)
    ds = _slice_at(baseline["lung_thin"], centre[2])
    width, height = _measured_diameters(ds, lesion, centre)
    assert abs(width - lesion.diameter_mm) <= 2 * float(ds.PixelSpacing[1])
    assert abs(height - lesion.diameter_mm) <= 2 * float(ds.PixelSpacing[0])


# --- determinism and variations -------------------------------------------------------


def _small_spec() -> StudySpec:
    spec = demo_patient(matrix=32, thin_slice_count=210).baseline
    return dataclasses.replace(spec, series=spec.series[:2])  # scout and thin series


def test_same_seed_same_objects_other_seed_other_objects() -> None:
    spec = _small_spec()
    first, again, other = (generate_study(spec, seed) for seed in (5, 5, 6))
    assert [ds.SOPInstanceUID for ds in first] == [ds.SOPInstanceUID for ds in again]
    assert all(a == b for a, b in zip(first, again, strict=True))
    assert first[0].StudyInstanceUID != other[0].StudyInstanceUID
    assert any(a.PixelData != b.PixelData for a, b in zip(first, other, strict=True))


def test_renaming_and_shuffling_keep_each_series_identity() -> None:
    spec = demo_patient(matrix=32, distractors=True).followup
    changed = with_shuffled_series(with_renamed_descriptions(spec), seed=3)
    assert sorted(s.key for s in changed.series) == sorted(s.key for s in spec.series)
    assert [s.key for s in changed.series] != [s.key for s in spec.series]
    numbers = {s.key: s.series_number for s in spec.series}
    assert {s.key: s.series_number for s in changed.series} != numbers
    assert sorted(s.series_number for s in changed.series) == sorted(numbers.values())
    assert changed.series_by_key("lung_thin").description != "Chest-Abd C+ 1.25 Lung"
    assert uids_of(changed, 1).series_uid("lung_thin") == uids_of(spec, 1).series_uid("lung_thin")


def test_iter_study_is_lazy() -> None:
    objects: Iterator[Dataset] = iter_study(demo_patient(matrix=32).baseline, seed=1)
    first = next(objects)
    assert first.SeriesNumber == 1


@pytest.mark.parametrize(
    "build",
    [
        lambda: SyntheticLesion("x", "lung", (0.0, 0.0, 0.0), 0.0),
        lambda: demo_patient(thin_slice_count=40),
        lambda: demo_patient(matrix=32, timepoints=1),
        lambda: demo_patient(matrix=32, timepoints=MAX_TIMEPOINTS + 1),
        lambda: dataclasses.replace(
            demo_patient(matrix=32).baseline,
            series=demo_patient(matrix=32).baseline.series * 2,
        ),
    ],
    ids=["zero diameter", "lesions outside the scan", "one timepoint", "too many timepoints",
         "duplicate series"],
)
def test_invalid_specifications_are_refused(build: object) -> None:
    with pytest.raises(SyntheticSpecError):
        build()  # type: ignore[operator]


def test_series_kinds_of_the_demo(demo: DemoPatient) -> None:
    kinds = {s.key: s.kind for s in demo.baseline.series}
    assert kinds["scout"] is SeriesKind.LOCALIZER
    assert kinds["dose_report"] is SeriesKind.DOSE_REPORT


# -- the synthetic patient, turned -------------------------------------------------------


def test_a_turned_phantom_shows_its_lesion_where_the_pose_puts_it() -> None:
    marker = SyntheticLesion("M", "liver", (-60.0, 10.0, -200.0), 20.0, hu=2000.0)
    base = demo_patient(matrix=64, thin_slice_count=300).followup
    spec = dataclasses.replace(
        without_series(base, "scout", "dose_report", "lung_thin"), lesions=(marker,),
        body_rotation_deg=(4.0, -3.0, 5.0), lateral_offset_mm=-20.0)
    datasets = generate_study(spec, seed=5)
    volume = np.stack([d.pixel_array.astype(np.float32) - 1024 for d in datasets])
    z = np.array([float(d.ImagePositionPatient[2]) for d in datasets])
    x0, y0 = (float(v) for v in datasets[0].ImagePositionPatient[:2])
    spacing = float(datasets[0].PixelSpacing[0])
    k, i, j = np.nonzero(volume > 1500)
    found = (x0 + j.mean() * spacing, y0 + i.mean() * spacing, float(z[k].mean()))
    expected = spec.lesion_center_patient_mm("M")
    assert math.dist(found, expected) < 3.0  # 5.9 mm pixels, 5 mm slices
    assert spec.body_to_patient.shape == (4, 4)
    assert np.allclose(rigid.apply(spec.body_to_patient, marker.center_mm), expected)
    with pytest.raises(SyntheticSpecError):
        dataclasses.replace(spec, body_rotation_deg=(50.0, 0.0, 0.0))
