"""Pairing baseline with follow-up series, on descriptors of generated studies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.multival import MultiValue

from imaging.metadata import describe_series, slice_position_mm
from imaging.model import SeriesDescriptor
from imaging.pairing import DEFAULT_MIN_SCORE, Pairing, pair_series
from pacs.metadata import build_series_record
from synthetic import (
    StudySpec,
    demo_patient,
    iter_study,
    uids_of,
    with_renamed_descriptions,
    with_series_changes,
    with_shuffled_series,
    without_series,
)

# Descriptors need no realistic pixels; the smallest matrix keeps generation quick.
MATRIX = 32
BASELINE_SEED = 21
FOLLOWUP_SEED = 22
VOLUME_KEYS = ("lung_thin", "soft_5mm", "soft_plain", "bone_thin", "coronal_mpr")
NON_VOLUME_KEYS = ("scout", "dose_report", "dose_screen")
# Descriptions that say nothing (a site that numbers its reconstructions).
NEUTRAL_NAMES = {key: f"Recon {i}" for i, key in enumerate(VOLUME_KEYS + NON_VOLUME_KEYS, start=1)}


def _grouped(spec: StudySpec, seed: int) -> dict[str, list[Dataset]]:
    """The study's objects by series key (the series' role, which tests know)."""
    uids = uids_of(spec, seed)
    keys = {uids.series_uid(s.key): s.key for s in spec.series}
    grouped: dict[str, list[Dataset]] = defaultdict(list)
    for ds in iter_study(spec, seed):
        grouped[keys[ds.SeriesInstanceUID]].append(ds)
    return dict(grouped)


def _descriptors(spec: StudySpec, seed: int) -> tuple[list[SeriesDescriptor], dict[str, str]]:
    """Descriptors of every series of the study, and series UID -> series key."""
    return _describe(_grouped(spec, seed))


def _describe(
    grouped: dict[str, list[Dataset]],
) -> tuple[list[SeriesDescriptor], dict[str, str]]:
    descriptors = [_as_ingested(group) for group in grouped.values()]
    keys = {group[0].SeriesInstanceUID: key for key, group in grouped.items()}
    return descriptors, keys


def _values(ds: Dataset, keyword: str) -> list[str]:
    value = ds.get(keyword)
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, MultiValue | list) else [str(value)]


def _text(ds: Dataset, keyword: str) -> str | None:
    """As Orthanc gives a tag: several values joined by a backslash."""
    return "\\".join(_values(ds, keyword)).strip() or None


def _numbers(ds: Dataset, keyword: str) -> list[float] | None:
    return [float(v) for v in _values(ds, keyword)] or None


def _as_ingested(datasets: Sequence[Dataset]) -> SeriesDescriptor:
    """The series described as ingest (pacs.metadata) describes it: the header of the
    middle instance by Instance Number, and every instance's position along its normal."""
    ordered = sorted(datasets, key=lambda ds: int(ds.InstanceNumber))
    middle = ordered[len(ordered) // 2]
    orientation = _numbers(middle, "ImageOrientationPatient")
    positions = (
        slice_position_mm(
            _numbers(ds, "ImagePositionPatient"), _numbers(ds, "ImageOrientationPatient"),
            orientation,
        )
        for ds in ordered
    )
    thickness = _numbers(middle, "SliceThickness")
    return describe_series(
        series_instance_uid=middle.SeriesInstanceUID,
        study_instance_uid=middle.StudyInstanceUID,
        modality=middle.Modality,
        instance_count=len(ordered),
        slice_positions_mm=[z for z in positions if z is not None],
        sop_class_uid=_text(middle, "SOPClassUID"),
        body_part=_text(middle, "BodyPartExamined"),
        description=_text(middle, "SeriesDescription"),
        protocol=_text(middle, "ProtocolName"),
        series_number=int(middle.SeriesNumber) if "SeriesNumber" in middle else None,
        image_type=_values(middle, "ImageType"),
        convolution_kernel=_text(middle, "ConvolutionKernel"),
        slice_thickness_mm=thickness[0] if thickness else None,
        pixel_spacing_mm=_numbers(middle, "PixelSpacing"),
        orientation=orientation,
        frame_of_reference_uid=_text(middle, "FrameOfReferenceUID"),
        contrast_agent=_text(middle, "ContrastBolusAgent"),
    )


@pytest.fixture(scope="module")
def demo_specs() -> tuple[StudySpec, StudySpec]:
    demo = demo_patient(matrix=MATRIX, distractors=True)
    return demo.baseline, demo.followup


@pytest.fixture(scope="module")
def baseline_objects(demo_specs: tuple[StudySpec, StudySpec]) -> dict[str, list[Dataset]]:
    return _grouped(demo_specs[0], BASELINE_SEED)


@pytest.fixture(scope="module")
def baseline(
    baseline_objects: dict[str, list[Dataset]],
) -> tuple[list[SeriesDescriptor], dict[str, str]]:
    return _describe(baseline_objects)


def _other_vendor(spec: StudySpec) -> StudySpec:
    """The follow-up on another vendor's scanner: Siemens kernel names, 1 mm lung slices."""
    spec = with_series_changes(spec, "lung_thin", kernel="B70f", slice_thickness_mm=1.0)
    spec = with_series_changes(spec, "soft_5mm", kernel="B30f")
    spec = with_series_changes(spec, "soft_plain", kernel="B30f")
    spec = with_series_changes(spec, "bone_thin", kernel="Br64")
    return with_series_changes(spec, "coronal_mpr", kernel="Br40")


def _permuted_descriptions(spec: StudySpec) -> StudySpec:
    """The enhanced volume series wear each other's descriptions: the words mislead.

    The plain series gets a neutral name: when no Contrast/Bolus Agent is recorded, its
    description is the only evidence of the phase, and a lie there cannot be detected.
    """
    enhanced = ("lung_thin", "soft_5mm", "bone_thin", "coronal_mpr")
    names = {s.key: s.description for s in spec.series}
    rotated = enhanced[1:] + enhanced[:1]
    table = {key: names[other] for key, other in zip(enhanced, rotated, strict=True)}
    return with_renamed_descriptions(spec, table | {"soft_plain": "Recon 9"})


OTHER_VENDOR = "neutral names, other vendor, shuffled"
FOLLOWUP_VARIANTS: dict[str, Callable[[StudySpec], StudySpec]] = {
    "as acquired": lambda spec: spec,
    "renamed and shuffled": lambda spec: with_shuffled_series(
        with_renamed_descriptions(spec), seed=3
    ),
    OTHER_VENDOR: lambda spec: with_shuffled_series(
        _other_vendor(with_renamed_descriptions(spec, NEUTRAL_NAMES)), seed=4
    ),
    "misleading names": lambda spec: with_shuffled_series(_permuted_descriptions(spec), seed=5),
}


_FOLLOWUPS: dict[tuple[int, str], tuple[list[SeriesDescriptor], dict[str, str]]] = {}


def _followup(spec: StudySpec, variant: str) -> tuple[list[SeriesDescriptor], dict[str, str]]:
    """Descriptors of a follow-up variant, generated once per test module run."""
    key = (id(spec), variant)
    if key not in _FOLLOWUPS:
        _FOLLOWUPS[key] = _descriptors(FOLLOWUP_VARIANTS[variant](spec), FOLLOWUP_SEED)
    return _FOLLOWUPS[key]


def _pairs_by_key(
    pairing: Pairing, b_keys: dict[str, str], f_keys: dict[str, str]
) -> dict[str, str]:
    return {b_keys[p.baseline_series_uid]: f_keys[p.followup_series_uid] for p in pairing.pairs}


@pytest.mark.parametrize("variant", FOLLOWUP_VARIANTS)
def test_each_series_pairs_with_its_counterpart(
    demo_specs: tuple[StudySpec, StudySpec],
    baseline: tuple[list[SeriesDescriptor], dict[str, str]],
    variant: str,
) -> None:
    b_desc, b_keys = baseline
    f_desc, f_keys = _followup(demo_specs[1], variant)
    pairing = pair_series(b_desc, f_desc)
    assert _pairs_by_key(pairing, b_keys, f_keys) == {key: key for key in VOLUME_KEYS}
    assert sorted(b_keys[uid] for uid in pairing.unpaired_baseline) == sorted(NON_VOLUME_KEYS)
    assert sorted(f_keys[uid] for uid in pairing.unpaired_followup) == sorted(NON_VOLUME_KEYS)
    for pair in pairing.pairs:
        assert DEFAULT_MIN_SCORE <= pair.score <= 1.0
        assert pair.reasons[0] == "same modality CT"


def test_scouts_and_dose_objects_are_excluded_with_a_reason(
    baseline: tuple[list[SeriesDescriptor], dict[str, str]],
) -> None:
    b_desc, b_keys = baseline
    pairing = pair_series(b_desc, b_desc)
    reasons = {b_keys[uid]: reason for uid, reason in pairing.excluded}
    assert reasons == {
        "scout": "ImageType LOCALIZER: a scout",
        "dose_report": "modality SR holds no images",
        "dose_screen": "Secondary Capture Image Storage is not a cross-sectional image",
    }


def test_a_series_missing_at_followup_stays_unpaired(
    demo_specs: tuple[StudySpec, StudySpec],
    baseline: tuple[list[SeriesDescriptor], dict[str, str]],
) -> None:
    b_desc, b_keys = baseline
    followup = without_series(demo_specs[1], "lung_thin", "coronal_mpr")
    f_desc, f_keys = _descriptors(followup, FOLLOWUP_SEED)
    pairing = pair_series(b_desc, f_desc)
    assert _pairs_by_key(pairing, b_keys, f_keys) == {
        "soft_5mm": "soft_5mm",
        "soft_plain": "soft_plain",
        "bone_thin": "bone_thin",
    }
    unpaired = {b_keys[uid] for uid in pairing.unpaired_baseline}
    assert {"lung_thin", "coronal_mpr"} <= unpaired


def test_kernel_thickness_and_contrast_reasons(
    demo_specs: tuple[StudySpec, StudySpec],
    baseline: tuple[list[SeriesDescriptor], dict[str, str]],
) -> None:
    b_desc, b_keys = baseline
    f_desc, f_keys = _followup(demo_specs[1], OTHER_VENDOR)
    pairing = pair_series(b_desc, f_desc)
    lung = next(p for p in pairing.pairs if b_keys[p.baseline_series_uid] == "lung_thin")
    assert "kernel family lung = lung (LUNG, B70f)" in lung.reasons
    assert "slice thickness 1.25 vs 1 mm" in lung.reasons
    assert "contrast yes = yes" in lung.reasons
    assert "orientation axial = axial" in lung.reasons


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_pairing_does_not_depend_on_input_order(
    demo_specs: tuple[StudySpec, StudySpec],
    baseline: tuple[list[SeriesDescriptor], dict[str, str]],
    data: st.DataObject,
) -> None:
    b_desc, _ = baseline
    f_desc, _ = _followup(demo_specs[1], OTHER_VENDOR)
    expected = pair_series(b_desc, f_desc)
    b_order = data.draw(st.permutations(b_desc))
    f_order = data.draw(st.permutations(f_desc))
    assert pair_series(b_order, f_order) == expected


# --- describe_series on generated series -----------------------------------------


def test_descriptor_of_a_generated_series(
    demo_specs: tuple[StudySpec, StudySpec], baseline_objects: dict[str, list[Dataset]]
) -> None:
    spec = demo_specs[0]
    thin = spec.series_by_key("lung_thin")
    d = _as_ingested(list(reversed(baseline_objects["lung_thin"])))
    positions = spec.slice_positions_mm(thin)
    assert d.z_range_mm == (min(positions), max(positions))
    assert d.instance_count == len(positions)
    assert d.orientation == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    assert d.image_type == ("ORIGINAL", "PRIMARY", "AXIAL")
    assert (d.modality, d.convolution_kernel, d.slice_thickness_mm) == ("CT", "LUNG", 1.25)
    assert d.contrast_agent == spec.contrast_agent
    assert d.series_number == thin.series_number
    assert d.body_part == "CHESTABDOMEN"
    assert d.study_instance_uid == uids_of(spec, BASELINE_SEED).study_instance_uid
    assert d.frame_of_reference_uid == uids_of(spec, BASELINE_SEED).frame_of_reference_uid


def test_descriptor_projects_positions_on_the_slice_normal(
    baseline_objects: dict[str, list[Dataset]],
) -> None:
    d = _as_ingested(baseline_objects["coronal_mpr"])
    # Coronal planes are stacked along y (anterior to posterior), 3 mm apart.
    assert d.z_range_mm is not None
    assert d.z_range_mm[1] - d.z_range_mm[0] == pytest.approx(3.0 * (d.instance_count - 1))
    # An SR has no image positions: no coverage.
    assert _as_ingested(baseline_objects["dose_report"]).z_range_mm is None


_SERIES_TAGS = ("SeriesInstanceUID", "Modality", "SeriesDescription", "SeriesNumber",
                "BodyPartExamined", "ProtocolName")
_INSTANCE_TAGS = ("SOPInstanceUID", "InstanceNumber", "ImagePositionPatient",
                  "ImageOrientationPatient")
_HEADER_TAGS = _SERIES_TAGS + _INSTANCE_TAGS + (
    "StudyInstanceUID", "SOPClassUID", "ImageType", "ConvolutionKernel", "SliceThickness",
    "PixelSpacing", "FrameOfReferenceUID", "ContrastBolusAgent")


def _orthanc_tags(ds: Dataset, keywords: Sequence[str]) -> dict[str, object]:
    """Tags as Orthanc's JSON gives them: strings, values joined by a backslash."""
    return {k: text for k in keywords if (text := _text(ds, k)) is not None}


def test_ingest_describes_a_series_as_the_pairing_tests_do(
    baseline_objects: dict[str, list[Dataset]],
) -> None:
    for key, group in baseline_objects.items():
        ordered = sorted(group, key=lambda ds: int(ds.InstanceNumber))
        middle = ordered[len(ordered) // 2]
        series = {"ID": f"orthanc-{key}", "MainDicomTags": _orthanc_tags(middle, _SERIES_TAGS)}
        study = {"ID": "orthanc-study", "PatientMainDicomTags": {"PatientID": "P1"},
                 "MainDicomTags": {"StudyInstanceUID": middle.StudyInstanceUID}}
        instances = [{"ID": f"orthanc-{ds.SOPInstanceUID}",
                      "MainDicomTags": _orthanc_tags(ds, _INSTANCE_TAGS)} for ds in ordered]
        record = build_series_record(series, study, instances, _orthanc_tags(middle, _HEADER_TAGS))
        assert record.series == _as_ingested(group), key
        positions = [i.position_mm for i in record.instances if i.position_mm is not None]
        expected = (min(positions), max(positions)) if positions else None
        assert record.series.z_range_mm == expected, key
