"""Pairing baseline with follow-up series: scores, exclusions and features on descriptors
built in the test (pure and quick; test_pairing_studies.py pairs generated studies)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imaging.errors import ImagingError, InvalidSeriesError, PairingError
from imaging.features import KernelFamily, body_regions, description_tokens, kernel_family
from imaging.metadata import describe_series, slice_position_mm
from imaging.model import SeriesDescriptor
from imaging.pairing import is_volume_series, pair_series, score_pair

# --- scores ---------------------------------------------------------------------------


def _volume(uid: str, **changes: object) -> SeriesDescriptor:
    base = SeriesDescriptor(
        series_instance_uid=uid,
        modality="CT",
        instance_count=300,
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        body_part="CHEST",
        description="Chest C+ 1.25 Lung",
        image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
        convolution_kernel="B70f",
        slice_thickness_mm=1.25,
        pixel_spacing_mm=(0.7, 0.7),
        orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
        contrast_agent="Iohexol",
        z_range_mm=(-400.0, -30.0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


_texts = st.none() | st.text(max_size=20)
_positive = st.none() | st.floats(min_value=0.1, max_value=20.0)
_orientations = st.none() | st.sampled_from(
    [
        (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
        (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
        (0.0, 1.0, 0.0, 0.0, 0.0, -1.0),
        (1.0, 0.0, 0.0, 0.0, 0.966, -0.259),  # 15 degree gantry tilt
    ]
)
_descriptors_strategy = st.builds(
    _volume,
    uid=st.from_regex(r"1\.2\.[1-9][0-9]{0,5}", fullmatch=True),
    modality=st.sampled_from(["CT", "MR"]),
    body_part=_texts,
    description=_texts,
    protocol=_texts,
    convolution_kernel=st.none() | st.sampled_from(["B70f", "LUNG", "BONE", "B30f", "FC51", "X"]),
    slice_thickness_mm=_positive,
    pixel_spacing_mm=st.none() | st.tuples(st.floats(0.2, 2.0), st.floats(0.2, 2.0)),
    orientation=_orientations,
    contrast_agent=_texts,
    image_type=st.sampled_from([(), ("ORIGINAL", "PRIMARY", "AXIAL"), ("DERIVED", "SECONDARY")]),
    z_range_mm=st.none()
    | st.tuples(st.floats(-500, 0), st.floats(0, 500)).map(lambda r: (r[0], r[1])),
    frame_of_reference_uid=st.none() | st.just("1.2.3.4"),
)


@given(b=_descriptors_strategy, f=_descriptors_strategy)
def test_scores_lie_in_unit_interval_are_symmetric_and_explained(
    b: SeriesDescriptor, f: SeriesDescriptor
) -> None:
    score, reasons = score_pair(b, f)
    assert 0.0 <= score <= 1.0
    assert reasons and all(isinstance(r, str) and r for r in reasons)
    assert score_pair(f, b)[0] == score


def test_a_series_scores_one_with_itself() -> None:
    d = _volume("1.2.3")
    assert score_pair(d, d)[0] == 1.0


def test_different_modalities_never_pair() -> None:
    assert score_pair(_volume("1.1"), _volume("1.2", modality="MR")) == (
        0.0,
        ("modality CT vs MR",),
    )
    assert pair_series([_volume("1.1")], [_volume("1.2", modality="MR")]).pairs == ()


def test_renamed_description_loses_less_than_another_kernel() -> None:
    b = _volume("1.1")
    renamed = _volume("2.1", description="Series 7")
    other_kernel = _volume("2.2", convolution_kernel="B30f", slice_thickness_mm=5.0)
    assert score_pair(b, renamed)[0] > score_pair(b, other_kernel)[0]


def test_orthogonal_planes_score_low_on_orientation() -> None:
    axial = _volume("1.1")
    coronal = _volume("1.2", orientation=(1.0, 0.0, 0.0, 0.0, 0.0, -1.0))
    score, reasons = score_pair(axial, coronal)
    assert "orientation axial vs coronal" in reasons
    assert score < score_pair(axial, _volume("1.3"))[0] - 0.19


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(PairingError, match="min_score"):
        pair_series([], [], min_score=1.5)
    with pytest.raises(PairingError, match="listed twice"):
        pair_series([_volume("1.1"), _volume("1.1")], [])


# --- exclusion ------------------------------------------------------------------------

EXCLUSIONS = [
    ("scout by ImageType", {"image_type": ("ORIGINAL", "PRIMARY", "LOCALIZER")}, "LOCALIZER"),
    ("topogram by name", {"description": "Topogram 0.6 T20s"}, "localizer"),
    ("surview by name", {"description": "SURVIEW"}, "localizer"),
    ("dose SR", {"modality": "SR", "sop_class_uid": "1.2.840.10008.5.1.4.1.1.88.67"}, "SR"),
    ("secondary capture", {"sop_class_uid": "1.2.840.10008.5.1.4.1.1.7"}, "Secondary"),
    ("dose page by name", {"description": "Dose Report", "sop_class_uid": None}, "dose"),
    ("too few images", {"instance_count": 3}, "too few"),
    ("bolus tracking", {"instance_count": 40, "z_range_mm": (-120.0, -120.0)}, "single-level"),
    ("presentation state", {"modality": "PR", "sop_class_uid": None}, "PR"),
]


@pytest.mark.parametrize(
    ("changes", "fragment"), [e[1:] for e in EXCLUSIONS], ids=[e[0] for e in EXCLUSIONS]
)
def test_non_volume_series_are_excluded(changes: dict[str, object], fragment: str) -> None:
    ok, reason = is_volume_series(_volume("1.1", **changes))
    assert not ok
    assert fragment in reason


def test_volumes_are_kept() -> None:
    assert is_volume_series(_volume("1.1")) == (True, "axial volume of 300 images")
    enhanced = _volume(
        "1.2", sop_class_uid="1.2.840.10008.5.1.4.1.1.2.1", instance_count=1, z_range_mm=None
    )
    assert is_volume_series(enhanced)[0]  # one multi-frame object holds the whole volume


# --- features -------------------------------------------------------------------------

KERNELS = [
    ("B70f", KernelFamily.LUNG),
    ("LUNG", KernelFamily.LUNG),
    ("YA", KernelFamily.LUNG),
    ("FC51", KernelFamily.LUNG),
    ("Bl57", KernelFamily.LUNG),
    ("I70f\\3", KernelFamily.LUNG),
    ("BONE", KernelFamily.BONE),
    ("BONEPLUS", KernelFamily.BONE),
    ("Br64", KernelFamily.BONE),
    ("FC30", KernelFamily.BONE),
    ("STANDARD", KernelFamily.SOFT),
    ("SOFT", KernelFamily.SOFT),
    ("B30f", KernelFamily.SOFT),
    ("Br40", KernelFamily.SOFT),
    ("FC08", KernelFamily.SOFT),
    ("B", KernelFamily.SOFT),
    ("B60f", KernelFamily.SHARP),
    ("EDGE", KernelFamily.SHARP),
    ("T20s", KernelFamily.UNKNOWN),
    (None, KernelFamily.UNKNOWN),
]


@pytest.mark.parametrize(("kernel", "family"), KERNELS)
def test_kernel_families(kernel: str | None, family: KernelFamily) -> None:
    assert kernel_family(kernel) is family


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Chest-Abd C+ 5.0 Soft", {"chest", "abdomen", "contrast", "5", "soft"}),
        ("THORAX w/o 5mm", {"chest", "noncontrast", "5"}),
        ("Non-contrast abdomen", {"noncontrast", "abdomen"}),
        ("Thorax nativ 1.25", {"chest", "noncontrast", "1.25"}),
    ],
)
def test_description_tokens(text: str, words: set[str]) -> None:
    assert description_tokens(text) == words


@pytest.mark.parametrize(
    ("body_part", "regions"),
    [
        ("CHEST", {"chest"}),
        ("CHESTABDOMEN", {"chest", "abdomen"}),
        ("CHEST_ABDOMEN", {"chest", "abdomen"}),
        ("CHESTABDPELVIS", {"chest", "abdomen", "pelvis"}),
        ("Thorax", {"chest"}),
        (None, set()),
    ],
)
def test_body_regions(body_part: str | None, regions: set[str]) -> None:
    assert body_regions(body_part) == regions


# --- describe_series: the one descriptor builder --------------------------------------


AXIAL_IOP = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL_IOP = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
LATERAL_IOP = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # normal along -x


@pytest.mark.parametrize(
    ("position", "own", "series", "expected"),
    [
        ((10.0, 20.0, -130.5), AXIAL_IOP, None, -130.5),
        ((10.0, 20.0, -130.5), CORONAL_IOP, AXIAL_IOP, 20.0),  # its own plane first
        ((10.0, 20.0, -130.5), LATERAL_IOP, None, -10.0),
        ((10.0, 20.0, -130.5), None, AXIAL_IOP, -130.5),  # else the series' plane
        ((10.0, 20.0, -130.5), (1.0, 0.0, 0.0, 0.0), AXIAL_IOP, -130.5),  # 4 values: none
        ((10.0, 20.0), AXIAL_IOP, None, None),  # not a position
        (None, AXIAL_IOP, None, None),
        ((10.0, 20.0, -130.5), None, None, None),  # no plane known
    ],
)
def test_slice_position_along_the_normal(
    position: tuple[float, ...] | None,
    own: tuple[float, ...] | None,
    series: tuple[float, ...] | None,
    expected: float | None,
) -> None:
    assert slice_position_mm(position, own, series) == expected


def test_slice_position_refuses_a_degenerate_plane() -> None:
    with pytest.raises(ImagingError, match="parallel"):
        slice_position_mm((0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 1.0, 0.0, 0.0))
    with pytest.raises(ImagingError, match="parallel or invalid"):
        slice_position_mm((0.0, 0.0, 0.0), (math.nan, 0.0, 0.0, 0.0, 1.0, 0.0))


def _described(**values: object) -> SeriesDescriptor:
    required: dict[str, object] = {
        "series_instance_uid": "1.2.3", "study_instance_uid": "1.2", "modality": "CT",
        "instance_count": 3,
    }
    return describe_series(**(required | values))  # type: ignore[arg-type]


def test_describe_series_z_range_is_the_extent_of_the_positions() -> None:
    # Unrounded, whatever the order: the ends of the slice positions along the normal.
    assert _described(slice_positions_mm=[-130.0, -132.5004, -131.25]).z_range_mm == (
        -132.5004, -130.0,
    )
    # The index keeps only the two ends; they describe the same range.
    assert _described(slice_positions_mm=(-132.5004, -130.0)).z_range_mm == (-132.5004, -130.0)
    assert _described().z_range_mm is None


def test_describe_series_reads_leniently() -> None:
    d = _described(
        pixel_spacing_mm=[0.7], orientation=[1.0, 0.0, 0.0, 0.0, 1.0],
        image_type=["ORIGINAL", "", "AXIAL"], convolution_kernel="B30f\\3",
    )
    assert d.pixel_spacing_mm is None and d.orientation is None
    assert d.image_type == ("ORIGINAL", "AXIAL")
    assert d.convolution_kernel == "B30f\\3"
    d = _described(pixel_spacing_mm=[0.7, 0.8], orientation=list(AXIAL_IOP))
    assert (d.pixel_spacing_mm, d.orientation) == ((0.7, 0.8), AXIAL_IOP)
    with pytest.raises(InvalidSeriesError, match="slice_thickness_mm"):
        _described(slice_thickness_mm=-1.0)


def test_identical_series_tie_break_by_uid() -> None:
    twin = _volume("1.2.3.1")
    b = [twin, dataclasses.replace(twin, series_instance_uid="1.2.3.2")]
    f = [dataclasses.replace(twin, series_instance_uid=u) for u in ("1.2.9.2", "1.2.9.1")]
    first = pair_series(b, f)
    assert first == pair_series(list(reversed(b)), list(reversed(f)))
    assert len(first.pairs) == 2
