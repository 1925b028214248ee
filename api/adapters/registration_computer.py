"""The registration computer: reads both series of a pair from Orthanc and registers them
with SimpleITK (:mod:`imaging.registration`). It is the jobs' ``compute``
(:class:`~api.workflow.registration_jobs.RegistrationJobs`); PACS and imaging errors become
a failed :class:`~api.workflow.ports.Outcome`, never an exception.
"""

from __future__ import annotations

import time

from api.workflow.ports import DONE, FAILED, Outcome, RegistrationPair, RegistrationStore
from imaging import rigid
from imaging.errors import ImagingError
from imaging.registration import RegistrationSettings, register
from pacs.errors import OrthancUnavailable, PacsError
from pacs.orthanc import OrthancClient
from pacs.voxels import SliceRef, read_volume


class RegistrationComputer:
    """Reads both series from Orthanc and registers them (the jobs' ``compute``)."""

    def __init__(self, store: RegistrationStore, orthanc: OrthancClient,
                 settings: RegistrationSettings | None = None) -> None:
        self._store = store
        self._orthanc = orthanc
        self._settings = settings or RegistrationSettings()

    def __call__(self, pair: RegistrationPair) -> Outcome:
        started = time.perf_counter()
        baseline = self._store.series_slices(pair.baseline_series_uid)
        followup = self._store.series_slices(pair.followup_series_uid)
        counts = self._store.instance_counts(pair)
        if baseline is None or followup is None:
            return Outcome(FAILED, reason="a series of the pair is not indexed", retryable=True,
                           counts=counts)
        try:
            volumes = [read_volume(self._orthanc,
                                   [SliceRef(s.orthanc_id, s.position_mm, s.frame)
                                    for s in one.slices],
                                   modality=one.modality) for one in (baseline, followup)]
            read_s = time.perf_counter() - started
            result = register(volumes[0], volumes[1], self._settings)
        except OrthancUnavailable:
            return Outcome(FAILED, reason="the PACS (Orthanc) was unreachable", retryable=True,
                           counts=counts, elapsed_s=time.perf_counter() - started)
        except (PacsError, ImagingError) as exc:
            return Outcome(FAILED, reason=str(exc), counts=counts,
                           elapsed_s=time.perf_counter() - started)
        p = result.plausibility
        details = {"method": result.method, "rotation_deg": _round(p.rotation_deg, 3),
                   "translation_mm": _round(p.translation_mm, 2),
                   "overlap": _round(result.overlap, 3), "iterations": result.iterations,
                   "register_s": _round(result.elapsed_s, 3),
                   "voxel_mm": [list(v.spacing) for v in volumes]}
        return Outcome(DONE if p.plausible else FAILED, matrix=rigid.as_rows(result.matrix),
                       metric=round(result.metric, 4),
                       elapsed_s=round(time.perf_counter() - started, 3),
                       read_s=round(read_s, 3), reason=p.reason, counts=counts,
                       details=details)


def _round(value: float, digits: int) -> float | None:
    return round(value, digits) if value == value else None  # NaN -> None
