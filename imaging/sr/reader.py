"""Linear measurements out of DICOM Measurement Reports (PS3.16 TID 1500) made by any system.

Lenient read: the content tree is walked as plain pydicom items, so that the shapes real
viewers write are understood, not only the one highdicom writes:

* highdicom and Nadir (TID 1410): the group's "Image Region" SCOORD (with its source
  IMAGE) is the caliper; the NUM "Long Axis"/"Short Axis" has no coordinates of its own.
* OHIF v3 via dcmjs (TID 1501 groups, Tracking Identifier like
  "Cornerstone3DTools@^0.1.0:Length"): the NUM "Length" (SCT 410668003, or SRT G-D7FE in
  older versions) carries its own SCOORD POLYLINE (INFERRED FROM), which carries the
  source IMAGE (SELECTED FROM). Bidirectional groups hold "Long Axis" and "Short Axis"
  NUMs, each with its own polyline.
* 3D Slicer/dcmqi (TID 1411): volumetric groups over a segmentation; their measurements
  (volume, mean...) are not linear and are reported as not mapped.

A measurement is imported when it is a length in a unit of length (UCUM mm, cm, m, um;
converted to mm) on a two-point POLYLINE that references its source image, or when it is
a lesion status that Nadir wrote. Everything else in the report's measurement content is
listed in :attr:`ImportedReport.not_mapped` with the reason, never dropped silently.
An object that is not an SR Measurement Report raises :class:`SRReadError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.sr.coding import Code

from imaging.sr import codes
from imaging.sr.errors import InvalidDocumentInput, SRReadError
from imaging.sr.model import (
    Criteria,
    LesionKind,
    LesionStatus,
    Point,
    TimepointResponse,
    row_col_from_scoord,
)

_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."  # PS3.4 B.5: all SR Storage SOP classes
_DERIVED_IMAGING_MEASUREMENTS = Code("126011", "DCM", "Derived Imaging Measurements")
_SOURCE = Code("260753009", "SCT", "Source")
_MALFORMED = (AttributeError, IndexError, KeyError, TypeError, ValueError)

# Group items that describe the group rather than report something (TID 1501, 1410, 1411).
_GROUP_CONTEXT = (
    codes.TRACKING_IDENTIFIER, codes.TRACKING_UID, codes.FINDING, codes.FINDING_SITE,
    codes.MEASUREMENT_METHOD, codes.IMAGE_REGION, codes.SOURCE_OF_MEASUREMENT, _SOURCE,
    Code("121401", "DCM", "Derivation"), Code("130400", "DCM", "Geometric purpose of region"),
    Code("276214006", "SCT", "Finding category"), Code("C67447", "NCIt", "Activity Session"),
    Code("C2348792", "UMLS", "Time Point"), Code("126072", "DCM", "Time Point Type"),
    Code("126073", "DCM", "Time Point Order"),
    Code("126070", "DCM", "Subject Time Point Identifier"),
    Code("126071", "DCM", "Protocol Time Point Identifier"),
    Code("111001", "DCM", "Algorithm Name"), Code("111003", "DCM", "Algorithm Version"),
    Code("111002", "DCM", "Algorithm Parameters"),
    Code("126100", "DCM", "Real World Value Map used for measurement"),
    Code("121232", "DCM", "Source series for segmentation"),
    Code("121191", "DCM", "Referenced Segment"),
    Code("121214", "DCM", "Referenced Segmentation Frame"),
    Code("121233", "DCM", "Source image for segmentation"),
    Code("121231", "DCM", "Volume Surface"),
)
_PERSON_OBSERVER_NAME = Code("121008", "DCM", "Person Observer Name")
_IMAGE_LIBRARY = Code("111028", "DCM", "Image Library")  # TID 1600: context, not content
_E = TypeVar("_E", bound=StrEnum)


class LengthConcept(StrEnum):
    """Which linear measurement a length is (CID 7470 "Linear Measurements")."""

    LENGTH = "length"
    LONG_AXIS = "long_axis"
    SHORT_AXIS = "short_axis"
    DIAMETER = "diameter"


_LENGTH_CONCEPTS = (
    (LengthConcept.LENGTH, codes.LENGTH), (LengthConcept.LONG_AXIS, codes.LONG_AXIS),
    (LengthConcept.SHORT_AXIS, codes.SHORT_AXIS), (LengthConcept.DIAMETER, codes.DIAMETER),
)


@dataclass(frozen=True)
class NotMapped:
    """Content of the report that Nadir does not record, and why."""

    what: str
    why: str


@dataclass(frozen=True, kw_only=True)
class ImageReference:
    """The image a measurement was made on; study and series come from the SR's evidence
    sequences (PS3.3 C.17.2) and are ``None`` when the SR does not list the image there."""

    sop_class_uid: str
    sop_instance_uid: str
    frame: int | None
    study_instance_uid: str | None
    series_instance_uid: str | None


@dataclass(frozen=True, kw_only=True)
class ImportedFragment:
    """One fragment of a split lesion (RECIST 1.1 s4.3.2) found in a report."""

    length_mm: float
    source: ImageReference
    polyline: tuple[Point, ...]

    @property
    def polyline_rc(self) -> tuple[Point, ...]:
        return row_col_from_scoord(self.polyline)


@dataclass(frozen=True, kw_only=True)
class ImportedMeasurement:
    """One lesion reading found in a report. ``polyline`` is in SCOORD (column, row) order."""

    tracking_uid: str | None
    tracking_id: str | None
    concept: LengthConcept | None
    length_mm: float | None
    source: ImageReference | None
    polyline: tuple[Point, ...] | None
    finding_site: str | None = None
    finding_site_code: Code | None = None
    finding: str | None = None
    lesion_kind: LesionKind | None = None
    status: LesionStatus | None = None
    #: RECIST 1.1 s4.3.2: a split lesion's fragments (``length_mm`` is their sum), or the
    #: Tracking UID of the lesion a coalesced one merged into.
    fragments: tuple[ImportedFragment, ...] = ()
    coalesced_into: str | None = None
    #: Where a lesion read by status lies on ``source`` (an Image Region SCOORD POINT),
    #: in SCOORD (column, row) order.
    point: Point | None = None
    #: A new lesion's first sighting (RECIST 1.1 s4.3.5): the Study Instance UID Nadir
    #: writes as a UIDREF ``99NADIR FIRST_SEEN`` in the group.
    first_seen: str | None = None

    @property
    def point_rc(self) -> Point | None:
        """The point as Nadir's (row, column)."""
        return None if self.point is None else row_col_from_scoord([self.point])[0]

    @property
    def polyline_rc(self) -> tuple[Point, ...] | None:
        """The caliper endpoints as Nadir's (row, column) points."""
        return None if self.polyline is None else row_col_from_scoord(self.polyline)

    @property
    def nodal(self) -> bool | None:
        """True for a short-axis reading (lymph node, RECIST 1.1 s.3.1.1), False for a long
        axis, ``None`` when the concept does not tell."""
        if self.concept is LengthConcept.SHORT_AXIS:
            return True
        return False if self.concept is LengthConcept.LONG_AXIS else None


@dataclass(frozen=True, kw_only=True)
class ImportedReport:
    """What :func:`read_measurement_report` found in one SR document.

    ``observer_names`` are the Person Observer Names of the document's observation context
    (PS3.16 TID 1001/1003 at the root), one per person observer, in document order.
    """

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    patient_id: str
    title: str
    observer_names: tuple[str, ...] = ()
    measurements: tuple[ImportedMeasurement, ...] = ()
    not_mapped: tuple[NotMapped, ...] = ()
    response: TimepointResponse | None = None
    replaces: tuple[str, ...] = field(default=())


def read_measurement_report(ds: Dataset) -> ImportedReport:
    """Linear measurements and unmappable content of a TID 1500 Measurement Report.

    Raises :class:`~imaging.sr.errors.SRReadError` when ``ds`` is not an SR document
    whose root is a Measurement Report (PS3.16 TID 1500, CID 7021 title).
    """
    title = _check_measurement_report(ds)
    evidence = _evidence_index(ds)
    found: list[ImportedMeasurement] = []
    not_mapped: list[NotMapped] = []
    observers: list[str] = []
    response: TimepointResponse | None = None
    for item in ds.ContentSequence:
        name = code_of(item)
        if _is_container(item, codes.IMAGING_MEASUREMENTS):
            _read_measurements(item, evidence, found, not_mapped)
        elif _is_container(item, codes.QUALITATIVE_EVALUATIONS):
            response = _read_responses(item, not_mapped)
        elif _is_container(item, _DERIVED_IMAGING_MEASUREMENTS):
            for child in _children(item):
                not_mapped.append(NotMapped(describe(child), "derived measurements (such as "
                                            "sums of diameters) are recomputed by Nadir"))
        elif name == _PERSON_OBSERVER_NAME and item.get("PersonName"):
            observers.append(str(item.PersonName))
        elif item.get("RelationshipType") == "CONTAINS" and name != _IMAGE_LIBRARY:
            not_mapped.append(NotMapped(describe(item), "not part of the report's imaging "
                                        "measurements"))
    return ImportedReport(
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        sop_class_uid=str(ds.SOPClassUID),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")),
        series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
        patient_id=str(ds.get("PatientID", "")),
        title=title,
        observer_names=tuple(observers),
        measurements=tuple(found),
        not_mapped=tuple(not_mapped),
        response=response,
        replaces=tuple(_predecessors(ds)),
    )


# --- generic content-item helpers -------------------------------------------------------

def code_of(item: Dataset, keyword: str = "ConceptNameCodeSequence") -> Code | None:
    """The first code of a code sequence, without scheme version (compared leniently)."""
    seq = item.get(keyword)
    if not seq:
        return None
    c = seq[0]
    value = c.get("CodeValue") or c.get("LongCodeValue") or c.get("URNCodeValue") or ""
    return Code(str(value), str(c.get("CodingSchemeDesignator", "")),
                str(c.get("CodeMeaning", "")))


def describe(item: Dataset) -> str:
    """A short human reading of a content item, e.g. ``Area = 120.5 mm2``."""
    name = code_of(item)
    label = name.meaning if name is not None and name.meaning else "unnamed item"
    value_type = item.get("ValueType", "")
    if value_type == "NUM" and item.get("MeasuredValueSequence"):
        mv = item.MeasuredValueSequence[0]
        unit = code_of(mv, "MeasurementUnitsCodeSequence")
        return f"{label} = {mv.get('NumericValue', '?')} {unit.value if unit else ''}".strip()
    if value_type == "CODE":
        value = code_of(item, "ConceptCodeSequence")
        return f"{label}: {value.meaning if value else '?'}"
    if value_type == "TEXT":
        return f"{label}: {item.get('TextValue', '')}"
    if value_type in ("SCOORD", "SCOORD3D"):
        return f"{label} ({value_type} {item.get('GraphicType', '?')})"
    return f"{label} ({value_type})" if value_type else label


def _children(item: Dataset) -> Iterator[Dataset]:
    yield from item.get("ContentSequence", [])


def _is_container(item: Dataset, name: Code) -> bool:
    return item.get("ValueType") == "CONTAINER" and code_of(item) == name


def _is_one_of(code: Code | None, known: tuple[Code, ...]) -> bool:
    return code is not None and any(code == k for k in known)


# --- document level ---------------------------------------------------------------------

def _check_measurement_report(ds: object) -> str:
    if not isinstance(ds, Dataset):
        raise SRReadError(f"expected a DICOM dataset, got {type(ds).__name__}")
    sop_class = str(ds.get("SOPClassUID", ""))
    uid = str(ds.get("SOPInstanceUID", "")) or None
    if not sop_class.startswith(_SR_CLASS_PREFIX):
        label = getattr(ds.get("SOPClassUID"), "name", "") or "no SOP Class UID"
        raise SRReadError(f"object {uid or '(no SOP Instance UID)'} is not a structured report "
                          f"(SOP class {label} {sop_class}): only a DICOM SR Measurement Report "
                          "(PS3.16 TID 1500) can be imported", sop_instance_uid=uid,
                          sop_class_uid=sop_class or None)
    if ds.get("ValueType") != "CONTAINER" or not ds.get("ContentSequence"):
        raise SRReadError(f"SR document {uid} has no content tree (root CONTAINER with a "
                          "Content Sequence)", sop_instance_uid=uid, sop_class_uid=sop_class)
    title = code_of(ds)
    templates = ds.get("ContentTemplateSequence") or []
    is_1500 = any(str(t.get("TemplateIdentifier", "")) == "1500" for t in templates)
    has_measurements = any(_is_container(i, codes.IMAGING_MEASUREMENTS)
                           for i in ds.ContentSequence)
    if not (is_1500 or _is_one_of(title, codes.MEASUREMENT_REPORT_TITLES) or has_measurements):
        meaning = title.meaning if title is not None else "untitled"
        raise SRReadError(f"SR document {uid} is a {meaning!r} document, not a Measurement "
                          "Report (PS3.16 TID 1500)", sop_instance_uid=uid,
                          sop_class_uid=sop_class)
    return title.meaning if title is not None else ""


def _evidence_index(ds: Dataset) -> dict[str, tuple[str, str]]:
    """SOP Instance UID -> (study, series) from the evidence sequences (PS3.3 C.17.2)."""
    index: dict[str, tuple[str, str]] = {}
    for keyword in ("CurrentRequestedProcedureEvidenceSequence",
                    "PertinentOtherEvidenceSequence"):
        for study in ds.get(keyword, []):
            for series in study.get("ReferencedSeriesSequence", []):
                for sop in series.get("ReferencedSOPSequence", []):
                    index[str(sop.get("ReferencedSOPInstanceUID", ""))] = (
                        str(study.get("StudyInstanceUID", "")),
                        str(series.get("SeriesInstanceUID", "")))
    return index


def _predecessors(ds: Dataset) -> Iterator[str]:
    for study in ds.get("PredecessorDocumentsSequence", []):
        for series in study.get("ReferencedSeriesSequence", []):
            for sop in series.get("ReferencedSOPSequence", []):
                yield str(sop.get("ReferencedSOPInstanceUID", ""))


def _read_responses(container: Dataset, not_mapped: list[NotMapped]) -> TimepointResponse | None:
    """Nadir's own response codes; every evaluation is also listed as not imported."""
    criteria: Criteria | None = None
    found: dict[str, str] = {}
    tables = (("target", codes.TARGET_RESPONSE_CODES),
              ("non_target", codes.NON_TARGET_RESPONSE_CODES),
              ("overall", codes.OVERALL_RESPONSE_CODES))
    for item in _children(container):
        name, value = code_of(item), code_of(item, "ConceptCodeSequence")
        if name != codes.RESPONSE_EVALUATION_METHOD:  # the method only qualifies the others
            not_mapped.append(NotMapped(describe(item), "responses are recomputed by Nadir "
                                        "from the measurements, not imported"))
        if value is None:
            continue
        if name == codes.RESPONSE_EVALUATION_METHOD:
            if value == codes.RECIST_1_1:
                criteria = Criteria.RECIST_1_1
            elif value == codes.IRECIST:
                criteria = Criteria.IRECIST
        elif name == codes.BEST_OVERALL_RESPONSE:
            key = codes.find_code(value, codes.OVERALL_RESPONSE_CODES.items())
            if key is not None:
                found["best_overall"] = key
        elif name == codes.CURRENT_RESPONSE:
            for category, table in tables:
                key = codes.find_code(value, table.items())
                if key is not None:
                    found[category] = key
    if criteria is None or "overall" not in found:
        return None
    try:
        return TimepointResponse(criteria=criteria, **found)
    except InvalidDocumentInput:
        return None


# --- measurement groups -----------------------------------------------------------------

def _read_measurements(
    container: Dataset, evidence: dict[str, tuple[str, str]],
    found: list[ImportedMeasurement], not_mapped: list[NotMapped],
) -> None:
    for n, group in enumerate(_children(container), start=1):
        if not _is_container(group, codes.MEASUREMENT_GROUP):
            not_mapped.append(NotMapped(describe(group), "not a measurement group"))
            continue
        try:
            _Group(group, n, evidence).read(found, not_mapped)
        except _MALFORMED as exc:
            not_mapped.append(NotMapped(f"measurement group {n}", f"malformed content: {exc}"))


class _Group:
    """One Measurement Group (TID 1501/1410/1411) being read."""

    def __init__(self, group: Dataset, n: int, evidence: dict[str, tuple[str, str]]) -> None:
        self.items = list(_children(group))
        self.evidence = evidence
        self.tracking_id = self._text(codes.TRACKING_IDENTIFIER)
        uid_items = [i for i in self.items if code_of(i) == codes.TRACKING_UID]
        self.tracking_uid = str(uid_items[0].UID) if uid_items else None
        self.label = self.tracking_id or self.tracking_uid or f"measurement group {n}"
        self.site_items = [i for i in self.items if code_of(i) == codes.FINDING_SITE]
        self.region_items = [i for i in self.items if code_of(i) == codes.IMAGE_REGION]
        self.group_images = [i for i in self.items if i.get("ValueType") == "IMAGE"
                             and _is_one_of(code_of(i), (codes.SOURCE_OF_MEASUREMENT, _SOURCE))]
        seen = [i for i in self.items if code_of(i) == codes.FIRST_SEEN and i.get("UID")]
        self.first_seen = str(seen[0].UID) if len(seen) == 1 else None

    def _text(self, name: Code) -> str | None:
        for item in self.items:
            if code_of(item) == name and item.get("TextValue"):
                return str(item.TextValue)
        return None

    def _coded(self, name: Code) -> Code | None:
        for item in self.items:
            if code_of(item) == name:
                return code_of(item, "ConceptCodeSequence")
        return None

    def read(self, found: list[ImportedMeasurement], not_mapped: list[NotMapped]) -> None:
        nums = [i for i in self.items if i.get("ValueType") == "NUM"]
        kind = _lookup(self._coded(codes.BASELINE_CATEGORY), codes.LESION_KIND_CODES, LesionKind)
        state = self._coded(codes.LESION_STATUS)
        status = _lookup(state, codes.LESION_STATUS_CODES, LesionStatus)
        self._report_unknown_items(not_mapped)
        if state is not None and state in (codes.SPLIT, codes.COALESCED):
            found.extend(self._split_or_merged(state, nums, kind, not_mapped))
            return
        lengths: list[tuple[Dataset, LengthConcept]] = []
        for num in nums:
            concept = _length_concept(code_of(num))
            if concept is None:
                not_mapped.append(NotMapped(f"{self.label}: {describe(num)}", "only linear "
                                            "measurements (length, long axis, short axis, "
                                            "diameter) are recorded"))
            else:
                lengths.append((num, concept))
        shared_region = self._shared_region(lengths)
        for num, concept in lengths:
            m = self._measurement(num, concept, shared_region, kind, status, not_mapped)
            if m is not None:
                found.append(m)
        if not lengths and status is not None:
            point, source = self._point()
            found.append(replace(self._imported(None, None, None, source, kind, status),
                                 point=point))
        elif not nums and status is None:
            not_mapped.append(NotMapped(self.label, "the group has no measurement"))

    def _point(self) -> tuple[Point | None, ImageReference | None]:
        """The lesion's point (a lone Image Region SCOORD POINT) and its image, else the
        group's source image without a point."""
        if len(self.region_items) == 1:
            region = self.region_items[0]
            data = [float(v) for v in region.get("GraphicData", [])]
            source = self._source(region)
            if region.get("ValueType") == "SCOORD" and region.get("GraphicType") == "POINT" \
                    and len(data) == 2 and source is not None:
                return (data[0], data[1]), source
        return None, self._source(Dataset())

    def _report_unknown_items(self, not_mapped: list[NotMapped]) -> None:
        for item in self.items:
            name = code_of(item)
            if item.get("ValueType") == "NUM" or _is_one_of(name, _GROUP_CONTEXT):
                continue
            if name in (codes.BASELINE_CATEGORY, codes.LESION_STATUS, codes.COALESCED_INTO,
                        codes.FIRST_SEEN):
                continue
            not_mapped.append(NotMapped(f"{self.label}: {describe(item)}", "Nadir records "
                                        "linear measurements and its own lesion statuses only"))
        for extra in self.site_items[1:]:
            not_mapped.append(NotMapped(f"{self.label}: {describe(extra)}",
                                        "only the first finding site is recorded"))

    def _split_or_merged(self, state: Code, nums: list[Dataset], kind: LesionKind | None,
                         not_mapped: list[NotMapped]) -> list[ImportedMeasurement]:
        """RECIST 1.1 s4.3.2 as Nadir writes it: a split lesion's fragments, each a length
        with its own caliper, or the Tracking UID of the lesion a coalesced one merged
        into. A fragment that cannot be read leaves the lesion unread (a partial sum would
        be a wrong diameter)."""
        if state == codes.COALESCED:
            into = [i for i in self.items if code_of(i) == codes.COALESCED_INTO
                    and i.get("UID")]
            if len(into) != 1:
                not_mapped.append(NotMapped(self.label, "coalesced, but the lesion it merged "
                                            "into is not named once by its Tracking UID"))
                return []
            return [replace(self._imported(None, None, None, None, kind, None),
                            coalesced_into=str(into[0].UID))]
        fragments = []
        for num in nums:
            m = self._measurement(num, LengthConcept.LONG_AXIS, None, kind, None, not_mapped)
            if m is None or m.source is None or m.polyline is None or m.length_mm is None:
                not_mapped.append(NotMapped(self.label, "split, but a fragment has no "
                                            "caliper on an image: the lesion is left out"))
                return []
            fragments.append(ImportedFragment(length_mm=m.length_mm, source=m.source,
                                              polyline=m.polyline))
        if len(fragments) < 2:
            not_mapped.append(NotMapped(self.label, f"split, but {len(fragments)} fragment(s) "
                                        "found; a split lesion has at least 2"))
            return []
        total = float(sum(Decimal(str(f.length_mm)) for f in fragments))
        return [replace(self._imported(total, LengthConcept.LONG_AXIS, None, None, kind, None),
                        fragments=tuple(fragments))]

    def _shared_region(self, lengths: list[tuple[Dataset, LengthConcept]]) -> Dataset | None:
        """The group's Image Region, when exactly one length has no coordinates of its own."""
        without_own = [num for num, _ in lengths if not _scoords(num)]
        if len(without_own) == 1 and len(self.region_items) == 1:
            return self.region_items[0]
        return None

    def _why_no_region(self) -> str:
        if not self.region_items:
            return "it has no caliper coordinates (SCOORD)"
        if len(self.region_items) > 1:
            return (f"the group's ROI has {len(self.region_items)} image regions (a volume); "
                    "a caliper is one line on one image")
        return "the group's image region is shared by several measurements"

    def _measurement(
        self, num: Dataset, concept: LengthConcept, shared_region: Dataset | None,
        kind: LesionKind | None, status: LesionStatus | None, not_mapped: list[NotMapped],
    ) -> ImportedMeasurement | None:
        what = f"{self.label}: {describe(num)}"
        length, why = _length_mm(num)
        if length is None:
            not_mapped.append(NotMapped(what, why))
            return None
        own = _scoords(num)
        if len(own) > 1:
            not_mapped.append(NotMapped(what, f"it has {len(own)} coordinate items; a caliper "
                                        "is one polyline"))
            return None
        region = own[0] if own else shared_region
        if region is None:
            if status is not None:
                return self._imported(length, concept, None, self._source(num), kind, status,
                                      num)
            not_mapped.append(NotMapped(what, self._why_no_region()))
            return None
        polyline, why = _caliper(region)
        if polyline is None:
            not_mapped.append(NotMapped(what, why))
            return None
        source = self._source(region) or self._source(num)
        if source is None:
            not_mapped.append(NotMapped(what, "it has no source image reference, so the image "
                                        "and timepoint it was measured on are unknown"))
            return None
        return self._imported(length, concept, polyline, source, kind, status, num)

    def _source(self, item: Dataset) -> ImageReference | None:
        images = [c for c in _children(item) if c.get("ValueType") == "IMAGE"]
        if not images and len(self.group_images) == 1:
            images = self.group_images
        if len(images) != 1 or not images[0].get("ReferencedSOPSequence"):
            return None
        ref = images[0].ReferencedSOPSequence[0]
        frames = ref.get("ReferencedFrameNumber")
        if frames is None or frames == "":
            frame_list: list[int] = []
        elif isinstance(frames, (MultiValue, list, tuple)):
            frame_list = [int(f) for f in frames]
        else:
            frame_list = [int(frames)]
        if len(frame_list) > 1:  # a caliper lies on one frame
            return None
        uid = str(ref.ReferencedSOPInstanceUID)
        study, series = self.evidence.get(uid, (None, None))
        return ImageReference(
            sop_class_uid=str(ref.ReferencedSOPClassUID), sop_instance_uid=uid,
            frame=frame_list[0] if frame_list else None,
            study_instance_uid=study, series_instance_uid=series)

    def _imported(
        self, length: float | None, concept: LengthConcept | None,
        polyline: tuple[Point, ...] | None, source: ImageReference | None,
        kind: LesionKind | None, status: LesionStatus | None, num: Dataset | None = None,
    ) -> ImportedMeasurement:
        # TID 300 lets a measurement carry its own finding site when the group has none.
        sites = self.site_items or [c for c in _children(num or Dataset())
                                    if code_of(c) == codes.FINDING_SITE]
        site = code_of(sites[0], "ConceptCodeSequence") if sites else None
        finding = self._coded(codes.FINDING)
        return ImportedMeasurement(
            tracking_uid=self.tracking_uid, tracking_id=self.tracking_id, concept=concept,
            length_mm=length, source=source, polyline=polyline,
            finding_site=(codes.organ_name(site) or site.meaning) if site else None,
            finding_site_code=site,
            finding=finding.meaning if finding is not None and finding != codes.LESION else None,
            lesion_kind=kind, status=status, first_seen=self.first_seen)


def _lookup(code: Code | None, table: Mapping[str, Code], enum: type[_E]) -> _E | None:
    if code is None:
        return None
    key = codes.find_code(code, table.items())
    return None if key is None else enum(key)


def _length_concept(name: Code | None) -> LengthConcept | None:
    if name is None:
        return None
    for concept, code in _LENGTH_CONCEPTS:
        if name == code:
            return concept
    return None


def _scoords(item: Dataset) -> list[Dataset]:
    return [c for c in _children(item) if c.get("ValueType") in ("SCOORD", "SCOORD3D")]


def _length_mm(num: Dataset) -> tuple[float | None, str]:
    """The NUM's value in mm, or ``None`` and why not (UCUM units, PS3.16 CID 7460)."""
    values = num.get("MeasuredValueSequence")
    if not values:
        qualifier = code_of(num, "NumericValueQualifierCodeSequence")
        return None, f"it has no numeric value ({qualifier.meaning if qualifier else 'empty'})"
    mv = values[0]
    unit = code_of(mv, "MeasurementUnitsCodeSequence")
    if unit is None or unit.scheme_designator != "UCUM":
        return None, "its unit is not a UCUM unit"
    factor = codes.LENGTH_UNITS_TO_MM.get(unit.value)
    if factor is None:
        if unit.value in ("1", "{pixels}", "px") or unit.meaning.lower() in ("px", "pixels"):
            return None, "it is measured in pixels (uncalibrated image), not in a unit of length"
        return None, f"its unit {unit.value!r} is not a unit of length"
    raw = mv.get("FloatingPointValue", mv.get("NumericValue"))
    value = Decimal(str(raw)) * Decimal(factor)
    if not value.is_finite() or value < 0:
        return None, f"its value {raw} is not a length"
    return float(value), ""


def _caliper(region: Dataset) -> tuple[tuple[Point, ...] | None, str]:
    if region.get("ValueType") == "SCOORD3D":
        return None, ("its coordinates are 3D patient coordinates (SCOORD3D); Nadir records "
                      "calipers drawn on a source image")
    graphic_type = str(region.get("GraphicType", ""))
    data = [float(v) for v in region.get("GraphicData", [])]
    if graphic_type != "POLYLINE":
        return None, f"its region is a {graphic_type or 'untyped'} shape, not a caliper line"
    if len(data) != 4:
        return None, (f"its polyline has {len(data) // 2} points; a caliper is a line between "
                      "two points")
    return ((data[0], data[1]), (data[2], data[3])), ""
