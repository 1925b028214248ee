"""A share's de-identified copy of studies, made by Orthanc in the same Orthanc.

Each instance is anonymized by Orthanc (``POST /instances/{id}/anonymize``, which answers
the file without storing it) with the ``Replace`` entries of :mod:`pacs.deid_profile`: the
share's pseudonym as Patient Name and ID, the share's UIDs and its moved dates. The file is
marked de-identified and stored as a new instance: the copy is a patient of its own
(Patient ID = the pseudonym). The original, identified data never leave Orthanc but as the
answers Nadir reads to plan each instance's replacements.

A series is copied whole or not at all: one instance that may show text in its pixels
(:func:`pacs.deid_profile.exclusion`) leaves its series out, with the reason. A copy that
fails half-way is removed.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from pacs.deid_profile import (
    DateShift,
    DeidentificationError,
    UidMap,
    anonymize_request,
    exclusion,
    mark_deidentified,
)
from pacs.errors import OrthancNotFound, PacsError
from pacs.orthanc import OrthancClient


@dataclass(frozen=True)
class LeftOutSeries:
    """A series of the original that the copy does not have, and why."""

    study_uid: str
    series_uid: str
    series_number: int | None
    modality: str
    reason: str


@dataclass(frozen=True)
class CopiedStudy:
    source_uid: str
    copy_uid: str
    instances: int


@dataclass(frozen=True)
class ShareCopy:
    """What a copy holds: its Orthanc patient (None when nothing could be copied), each
    study's new UID, the series left out, and the UID map (original -> copy)."""

    pseudonym: str
    shift: DateShift
    orthanc_patient: str | None
    studies: tuple[CopiedStudy, ...]
    left_out: tuple[LeftOutSeries, ...]
    uids: UidMap


class ShareCopier:
    def __init__(self, client: OrthancClient) -> None:
        self._client = client

    def copy(self, study_orthanc_ids: Sequence[str], pseudonym: str,
             shift: DateShift) -> ShareCopy:
        """Copy the studies de-identified under ``pseudonym``, dates moved by ``shift``.

        On any failure the instances already stored are deleted and the error raised."""
        uids = UidMap()
        stored: list[str] = []
        patient: str | None = None
        studies: list[CopiedStudy] = []
        left_out: list[LeftOutSeries] = []
        try:
            for study_id in study_orthanc_ids:
                study = self._client.study(study_id)
                source_uid = str(study["MainDicomTags"]["StudyInstanceUID"])
                count = 0
                for series_id in study["Series"]:
                    copied, refused = self._copy_series(series_id, pseudonym, shift, uids,
                                                        stored)
                    if refused is not None:
                        left_out.append(refused)
                        continue
                    if copied and patient is None:
                        patient = self._patient_of(copied[0])
                    count += len(copied)
                studies.append(CopiedStudy(source_uid, uids(source_uid), count))
        except BaseException:
            self._remove_instances(stored)
            raise
        return ShareCopy(pseudonym, shift, patient, tuple(studies), tuple(left_out), uids)

    def remove(self, orthanc_patient: str) -> None:
        """Delete a copy (its patient, with every study in it); gone already is fine."""
        with contextlib.suppress(OrthancNotFound):
            self._client.delete("patients", orthanc_patient)

    def _copy_series(self, series_id: str, pseudonym: str, shift: DateShift, uids: UidMap,
                     stored: list[str]) -> tuple[list[str], LeftOutSeries | None]:
        """The copy's new instances of one series (also added to ``stored`` as they are
        stored), or none and the reason it stays out: an instance judged unfit removes
        the ones of its series already copied."""
        copied: list[str] = []
        for instance in self._client.series_instances(series_id):
            header = self._header(str(instance["ID"]))
            reason = exclusion(header)
            if reason is not None:
                self._remove_instances(copied)
                del stored[len(stored) - len(copied):]
                return [], _left_out(header, reason)
            request = anonymize_request(header, pseudonym, shift, uids)
            data = mark_deidentified(
                self._client.anonymized_instance(str(instance["ID"]), request))
            copied.append(self._client.store(data).orthanc_id)
            stored.append(copied[-1])
        return copied, None

    def _patient_of(self, instance_id: str) -> str:
        series = self._client.series(str(self._client.instance(instance_id)["ParentSeries"]))
        return str(self._client.study(str(series["ParentStudy"]))["ParentPatient"])

    def _header(self, instance_id: str) -> Dataset:
        data = self._client.instance_file(instance_id)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # lenient read: odd headers still copy
                return dcmread(BytesIO(data))
        except (InvalidDicomError, ValueError, EOFError) as exc:
            raise DeidentificationError(
                f"instance {instance_id} is unreadable ({type(exc).__name__})") from None

    def _remove_instances(self, orthanc_ids: list[str]) -> None:
        for orthanc_id in orthanc_ids:
            # Best effort: the original error is the one to report.
            with contextlib.suppress(PacsError):
                self._client.delete_instance(orthanc_id)


def _left_out(header: Dataset, reason: str) -> LeftOutSeries:
    number = header.get("SeriesNumber")
    return LeftOutSeries(study_uid=str(header.get("StudyInstanceUID", "")),
                         series_uid=str(header.get("SeriesInstanceUID", "")),
                         series_number=int(number) if number not in (None, "") else None,
                         modality=str(header.get("Modality", "")), reason=reason)
