"""A finished reading copied onto a share's review (issue 21, ``include_measurements``).

For a share that is not blinded, the primary case's lesions and their current
measurements are copied onto the review case, every UID mapped to the copy's (the
measured image, its series, the timepoint, fragments of a split lesion, the lesion a
coalesced one merged into), so the outside specialist reviews the reading on the
de-identified images. A measurement whose image the copy does not have (a series left
out) is not copied. Authors become :data:`PRIMARY_READER`: staff names are identifying
attributes the profile removes from the images too (PS3.15 E.1-1, physicians' names).
"""

from __future__ import annotations

from collections.abc import Callable

from api.workflow.domain import Case, Lesion, MeasurementFragment, MeasurementVersion
from api.workflow.ports import CaseStore
from api.workflow.share_types import DeidentifiedCopy
from api.workflow.timeline import CurrentMeasurements

PRIMARY_READER = "primary reader"


def copy_reading(store: CaseStore, primary: Case, review: Case, current: CurrentMeasurements,
                 copy: DeidentifiedCopy, new_uid: Callable[[], str]) -> int:
    """Copy the primary's active lesions and current measurements onto ``review`` (stored
    already); the number of measurements copied."""
    lesions: dict[int, Lesion] = {}
    for lesion in primary.active_lesions:
        copied = Lesion(case_id=review.id, kind=lesion.kind, organ=lesion.organ,
                        nodal=lesion.nodal, label=lesion.label,
                        first_timepoint=_mapped(copy, lesion.first_timepoint),
                        equivocal=lesion.equivocal,
                        confirmed_at=_mapped(copy, lesion.confirmed_at),
                        tracking_uid=copy.uid_of(lesion.tracking_uid) or new_uid(),
                        created_by=PRIMARY_READER)
        store.add(copied)
        lesions[lesion.id] = copied
    versions: dict[int, int] = {}  # a lesion's versions are numbered across timepoints
    for (lesion_id, timepoint), m in sorted(current.items(), key=lambda kv: kv[1].id):
        if lesion_id not in lesions or timepoint not in copy.studies:
            continue
        version = _version(m, lesions, copy, versions.get(lesion_id, 0) + 1)
        if version is not None:
            store.add(version)
            versions[lesion_id] = version.version
    return sum(versions.values())


def _mapped(copy: DeidentifiedCopy, timepoint: str | None) -> str | None:
    return None if timepoint is None else copy.studies.get(timepoint)


def _version(m: MeasurementVersion, lesions: dict[int, Lesion], copy: DeidentifiedCopy,
             number: int) -> MeasurementVersion | None:
    """The measurement on the copy, or None when its image is not in the copy."""
    sop = copy.uid_of(m.sop_instance_uid) if m.sop_instance_uid else None
    if m.sop_instance_uid and sop is None:
        return None
    fragments = []
    for f in m.fragments:
        f_sop, f_series = copy.uid_of(f.sop_instance_uid), copy.uid_of(f.series_instance_uid)
        if f_sop is None or f_series is None:
            return None
        fragments.append(MeasurementFragment(
            position=f.position, sop_instance_uid=f_sop, series_instance_uid=f_series,
            frame=f.frame, endpoints=f.endpoints, length_mm=f.length_mm))
    merged = lesions.get(m.coalesced_into) if m.coalesced_into is not None else None
    return MeasurementVersion(
        lesion_id=lesions[m.lesion_id].id, timepoint_uid=copy.studies[m.timepoint_uid],
        version=number, author=PRIMARY_READER, reason="copied from the shared case's reading",
        status=m.status, sop_instance_uid=sop,
        series_instance_uid=copy.uid_of(m.series_instance_uid) if m.series_instance_uid
        else None, frame=m.frame, endpoints=m.endpoints, length_mm=m.length_mm,
        source="share", short_axis_endpoints=m.short_axis_endpoints,
        long_axis_mm=m.long_axis_mm, short_axis_mm=m.short_axis_mm, point=m.point,
        coalesced_into=merged.id if merged is not None else None, fragments=fragments)
