"""X-Ray Radiation Dose SR (PS3.3 A.35.8) with a CT Radiation Dose report (PS3.16 TID 10011).

Content items are built with highdicom, which validates value types and relationships; the
document modules (SR Document Series C.17.1, SR Document General C.17.2, SR Document
Content C.17.3, Enhanced General Equipment C.7.5.2) are set here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence

from highdicom.sr import (
    CodeContentItem,
    CodedConcept,
    ContainerContentItem,
    DateTimeContentItem,
    NumContentItem,
    RelationshipTypeValues,
    TextContentItem,
    UIDRefContentItem,
)
from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence as DicomSequence

from synthetic.ct import CTDI_VOL_MGY, SeriesContext
from synthetic.modules import (
    XRAY_RADIATION_DOSE_SR_STORAGE,
    apply,
    da,
    derived_uid,
    equipment_attributes,
    instance_uid,
    new_dataset,
    patient_study_attributes,
    series_datetime,
    tm,
)
from synthetic.spec import SeriesKind, SeriesSpec

CONTAINS = RelationshipTypeValues.CONTAINS
HAS_CONCEPT_MOD = RelationshipTypeValues.HAS_CONCEPT_MOD
HAS_OBS_CONTEXT = RelationshipTypeValues.HAS_OBS_CONTEXT
HAS_PROPERTIES = RelationshipTypeValues.HAS_PROPERTIES


def _dcm(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, "DCM", meaning)


def _sct(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, "SCT", meaning)


def _ucum(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, "UCUM", meaning)


MGY = _ucum("mGy", "mGy")
MGY_CM = _ucum("mGy.cm", "mGy.cm")
MM = _ucum("mm", "mm")
SECONDS = _ucum("s", "s")


def _num(code: str, meaning: str, value: float, unit: CodedConcept) -> NumContentItem:
    return NumContentItem(_dcm(code, meaning), value, unit, relationship_type=CONTAINS)


def dose_report_series(ctx: SeriesContext) -> Iterator[Dataset]:
    """The dose report of the study's irradiation events (scout and helical scans)."""
    study, series = ctx.study, ctx.series
    when = series_datetime(study, series)
    ds = new_dataset(
        XRAY_RADIATION_DOSE_SR_STORAGE, instance_uid(study, ctx.seed, series.key, 0), when
    )
    apply(ds, patient_study_attributes(study, ctx.uids))
    apply(
        ds,
        {
            # SR Document Series (C.17.1)
            "Modality": "SR",
            "SeriesInstanceUID": ctx.uids.series_uid(series.key),
            "SeriesNumber": series.series_number,
            "SeriesDate": da(when),
            "SeriesTime": tm(when),
            "SeriesDescription": series.description,
            "ReferencedPerformedProcedureStepSequence": DicomSequence(),
            # SR Document General (C.17.2)
            "InstanceNumber": 1,
            "CompletionFlag": "COMPLETE",
            "VerificationFlag": "UNVERIFIED",
            "ContentDate": da(when),
            "ContentTime": tm(when),
            "PerformedProcedureCodeSequence": DicomSequence(),
        },
    )
    apply(ds, equipment_attributes(study))
    events = _irradiation_events(study.series)
    # Content items are highdicom Dataset subclasses; hand out plain pydicom objects, equal
    # to what a reader of the written file gets back.
    for element in _plain(_report(ctx, events, when)):
        ds.add(element)
    yield ds


def _report(
    ctx: SeriesContext, events: Sequence[SeriesSpec], when: datetime.datetime
) -> ContainerContentItem:
    study = ctx.study
    root = ContainerContentItem(
        _dcm("113701", "X-Ray Radiation Dose Report"),
        is_content_continuous=False,
        template_id="10011",
    )
    procedure = CodeContentItem(
        _dcm("121058", "Procedure reported"),
        _sct("77477000", "Computed Tomography X-Ray"),
        relationship_type=HAS_CONCEPT_MOD,
    )
    procedure.ContentSequence = DicomSequence(
        [
            CodeContentItem(
                _sct("363703001", "Has Intent"),
                _sct("261004008", "Diagnostic Intent"),
                relationship_type=HAS_CONCEPT_MOD,
            )
        ]
    )
    scope = CodeContentItem(
        _dcm("113705", "Scope of Accumulation"),
        _dcm("113014", "Study"),
        relationship_type=HAS_OBS_CONTEXT,
    )
    scope.ContentSequence = DicomSequence(
        [
            UIDRefContentItem(
                _dcm("110180", "Study Instance UID"),
                ctx.uids.study_instance_uid,
                relationship_type=HAS_PROPERTIES,
            )
        ]
    )
    start = datetime.datetime.combine(study.study_date, study.study_time)
    events_data = [_event(ctx, s) for s in events]
    total_dlp = sum(_dlp(study.scan_length_mm) for s in events if s.kind is SeriesKind.AXIAL)
    accumulated = ContainerContentItem(
        _dcm("113811", "CT Accumulated Dose Data"), relationship_type=CONTAINS
    )
    accumulated.ContentSequence = DicomSequence(
        [
            _num(
                "113812",
                "Total Number of Irradiation Events",
                len(events),
                _ucum("{events}", "events"),
            ),
            _num("113813", "CT Dose Length Product Total", round(total_dlp, 1), MGY_CM),
        ]
    )
    root.ContentSequence = DicomSequence(
        [
            procedure,
            *_device_observer(ctx),
            DateTimeContentItem(
                _dcm("113809", "Start of X-Ray Irradiation"),
                start,
                relationship_type=HAS_OBS_CONTEXT,
            ),
            DateTimeContentItem(
                _dcm("113810", "End of X-Ray Irradiation"), when, relationship_type=HAS_OBS_CONTEXT
            ),
            scope,
            accumulated,
            *events_data,
            CodeContentItem(
                _dcm("113854", "Source of Dose Information"),
                _dcm("113856", "Automated Data Collection"),
                relationship_type=CONTAINS,
            ),
        ]
    )
    return root


def _plain(item: Dataset) -> Dataset:
    out = Dataset()
    for elem in item:
        if elem.VR == "SQ":
            out.add(DataElement(elem.tag, "SQ", DicomSequence([_plain(i) for i in elem.value])))
        elif elem.VR in ("DA", "DT", "TM"):
            # highdicom keeps datetime objects; a reader gets the DICOM string.
            out.add(DataElement(elem.tag, elem.VR, str(elem.value)))
        else:
            out.add(DataElement(elem.tag, elem.VR, elem.value))
    return out


def _device_observer(
    ctx: SeriesContext,
) -> list[CodeContentItem | UIDRefContentItem | TextContentItem]:
    """Observer context of a device observer (PS3.16 TID 1002 / TID 1004)."""
    study = ctx.study
    return [
        CodeContentItem(
            _dcm("121005", "Observer Type"),
            _dcm("121007", "Device"),
            relationship_type=HAS_OBS_CONTEXT,
        ),
        UIDRefContentItem(
            _dcm("121012", "Device Observer UID"),
            derived_uid(study.manufacturer, study.station_name, "device"),
            relationship_type=HAS_OBS_CONTEXT,
        ),
        TextContentItem(
            _dcm("121013", "Device Observer Name"),
            study.station_name,
            relationship_type=HAS_OBS_CONTEXT,
        ),
        TextContentItem(
            _dcm("121014", "Device Observer Manufacturer"),
            study.manufacturer,
            relationship_type=HAS_OBS_CONTEXT,
        ),
        TextContentItem(
            _dcm("121015", "Device Observer Model Name"),
            study.manufacturer_model_name,
            relationship_type=HAS_OBS_CONTEXT,
        ),
    ]


def _event_key(series: SeriesSpec) -> str:
    return f"{series.kind.value}/{series.acquisition_number}/{series.contrast}"


def _irradiation_events(series: Sequence[SeriesSpec]) -> list[SeriesSpec]:
    """One series per acquisition: reconstructions of one helical scan share its dose."""
    seen: dict[str, SeriesSpec] = {}
    for s in sorted(series, key=lambda s: (s.series_number, s.key)):
        if s.kind in (SeriesKind.LOCALIZER, SeriesKind.AXIAL):
            seen.setdefault(_event_key(s), s)
    return list(seen.values())


def _dlp(scan_length_mm: float) -> float:
    # DLP = CTDIvol x irradiated length in cm; a helical scan over-ranges ~20 mm each end.
    return CTDI_VOL_MGY * (scan_length_mm + 40.0) / 10.0


def _event(ctx: SeriesContext, series: SeriesSpec) -> ContainerContentItem:
    """One irradiation event (PS3.16 TID 10013 CT Irradiation Event Data)."""
    study = ctx.study
    helical = series.kind is SeriesKind.AXIAL
    length = study.scan_length_mm + (40.0 if helical else 120.0)
    event = ContainerContentItem(_dcm("113819", "CT Acquisition"), relationship_type=CONTAINS)
    acquisition_type = (
        _sct("116152004", "Spiral Acquisition")
        if helical
        else _dcm("113805", "Constant Angle Acquisition")
    )
    source = ContainerContentItem(
        _dcm("113831", "CT X-Ray Source Parameters"), relationship_type=CONTAINS
    )
    source.ContentSequence = DicomSequence(
        [
            TextContentItem(
                _dcm("113832", "Identification of the X-Ray Source"),
                "A",
                relationship_type=CONTAINS,
            ),
            _num("113733", "KVP", series.kvp, _ucum("kV", "kV")),
            _num("113833", "Maximum X-Ray Tube Current", series.tube_current_ma, _ucum("mA", "mA")),
            _num("113734", "X-Ray Tube Current", series.tube_current_ma, _ucum("mA", "mA")),
            _num("113834", "Exposure Time per Rotation", 0.5, SECONDS),
        ]
    )
    parameters = ContainerContentItem(
        _dcm("113822", "CT Acquisition Parameters"), relationship_type=CONTAINS
    )
    parameters.ContentSequence = DicomSequence(
        [
            _num("113824", "Exposure Time", round(length / 78.8, 2) if helical else 4.7, SECONDS),
            _num("113825", "Scanning Length", length, MM),
            _num("113826", "Nominal Single Collimation Width", 0.625, MM),
            _num("113827", "Nominal Total Collimation Width", 40.0 if helical else 0.625, MM),
            *(
                [_num("113828", "Pitch Factor", 0.984, _ucum("{ratio}", "ratio"))]
                if helical
                else []
            ),
            _num("113823", "Number of X-Ray Sources", 1, _ucum("{X-Ray sources}", "X-Ray sources")),
            source,
        ]
    )
    items: list[ContainerContentItem | TextContentItem | CodeContentItem | UIDRefContentItem] = [
        TextContentItem(
            _dcm("125203", "Acquisition Protocol"),
            series.protocol_name,
            relationship_type=CONTAINS,
        ),
        CodeContentItem(
            _dcm("123014", "Target Region"), _sct("51185008", "Chest"), relationship_type=CONTAINS
        ),
        CodeContentItem(
            _dcm("113820", "CT Acquisition Type"), acquisition_type, relationship_type=CONTAINS
        ),
        UIDRefContentItem(
            _dcm("113769", "Irradiation Event UID"),
            derived_uid(ctx.uids.study_instance_uid, _event_key(series), "irradiation"),
            relationship_type=CONTAINS,
        ),
        parameters,
    ]
    if helical:
        # The scout has no CT Dose container (TID 10013: not for constant angle).
        dose = ContainerContentItem(_dcm("113829", "CT Dose"), relationship_type=CONTAINS)
        dose.ContentSequence = DicomSequence(
            [
                _num("113830", "Mean CTDIvol", CTDI_VOL_MGY, MGY),
                CodeContentItem(
                    _dcm("113835", "CTDIw Phantom Type"),
                    _dcm("113691", "IEC Body Dosimetry Phantom"),
                    relationship_type=CONTAINS,
                ),
                _num("113838", "DLP", round(_dlp(study.scan_length_mm), 1), MGY_CM),
            ]
        )
        items.append(dose)
    event.ContentSequence = DicomSequence(items)
    return event
