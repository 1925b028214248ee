"""Where two readers' readings lie in patient space, to match their lesions (issue 21).

A reading's place is the midpoint of its caliper (or its status point) mapped through its
image's plane (Image Position, Image Orientation and Pixel Spacing, per frame for a
multi-frame image: PS3.3 C.7.6.2.1.1, C.7.6.16.2), with the Frame of Reference of its
series from the index (PS3.3 C.7.4.1). The pure matching is in :mod:`api.workflow.readings`.

A share's review reads copies whose UIDs, the Frame of Reference UID among them, were
replaced (PS3.15 Annex E) while the geometry was kept: each copied series is paired with
its original through the stored timepoint map (copied study -> original study) and the
Series Number and Modality the copy keeps, and its frame counts as the original's.

Frames that differ are compared through a registration of the two series when one was
computed (:mod:`api.workflow.registration`): its matrix maps the baseline series' patient
points onto the follow-up series'.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from api.workflow.domain import Case
from api.workflow.ports import DONE, CaseStore, Pacs, RegistrationPair, RegistrationStore, Series
from api.workflow.readings import LocatedReading, Place, Point3
from imaging import rigid
from imaging.errors import ImagingError
from imaging.geometry import ImagePlane


class ReadingPlaces:
    """Places of readings for one request: each image's plane is read once."""

    def __init__(self, store: CaseStore, pacs: Pacs,
                 registrations: RegistrationStore | None) -> None:
        self.store = store
        self.pacs = pacs
        self.registrations = registrations
        self._planes: dict[tuple[str, int], ImagePlane | None] = {}
        self._series: dict[str, dict[str, Series]] = {}

    def place(self, reading: LocatedReading, frames: Mapping[str, str]) -> Place | None:
        """The reading's place; ``frames`` renames a copy's frame to its original's."""
        inst = self.store.locate_instance(reading.sop_instance_uid)
        if inst is None:
            return None
        key = (inst.orthanc_id, reading.frame or 1)
        if key not in self._planes:
            self._planes[key] = self.pacs.image_plane(*key)
        plane = self._planes[key]
        if plane is None:
            return None
        series = self._series_of(inst.study_instance_uid).get(inst.series_instance_uid)
        frame = frame_key(series, inst.series_instance_uid)
        return Place(frames.get(frame, frame), inst.series_instance_uid,
                     plane.to_patient(*reading.at))

    def through(self, a: Place, b: Place) -> Point3 | None:
        """``b``'s point in ``a``'s frame through a computed registration of their series."""
        if self.registrations is None:
            return None
        direct = self.registrations.get(RegistrationPair(b.series_instance_uid,
                                                         a.series_instance_uid))
        reverse = self.registrations.get(RegistrationPair(a.series_instance_uid,
                                                          b.series_instance_uid))
        try:
            if direct is not None and direct.status == DONE and direct.matrix is not None:
                return rigid.apply(rigid.as_matrix(direct.matrix), b.mm)
            if reverse is not None and reverse.status == DONE and reverse.matrix is not None:
                return rigid.apply(rigid.inverse(rigid.as_matrix(reverse.matrix)), b.mm)
        except ImagingError:  # a stored matrix that is not a transform: no registration
            return None
        return None

    def copy_frames(self, primary: Case, review: Case) -> dict[str, str]:
        """For a review over a share's copies: each copied series' frame -> its original's
        (empty for a review of the same studies)."""
        if review.timepoint_map is None:
            return {}
        out: dict[str, str] = {}
        for copy_uid, original_uid in review.timepoint_map.items():
            copies = self._series_of(copy_uid).values()
            originals = self._series_of(original_uid).values()
            for copy, original in paired_series(copies, originals):
                out[frame_key(copy, copy.series_instance_uid)] = \
                    frame_key(original, original.series_instance_uid)
        return out

    def _series_of(self, study_uid: str) -> dict[str, Series]:
        """The indexed series of a study, by Series Instance UID."""
        if study_uid not in self._series:
            patient = self.store.patient_of_study(study_uid)
            studies = self.store.studies_of(patient) if patient is not None else None
            self._series[study_uid] = {
                s.series_instance_uid: s for st in studies or []
                if st.study_instance_uid == study_uid for s in st.series}
        return self._series[study_uid]


def frame_key(series: Series | None, series_uid: str) -> str:
    """The series' Frame of Reference UID, or ``series:<uid>`` when it names none."""
    if series is not None and series.frame_of_reference_uid:
        return series.frame_of_reference_uid
    return f"series:{series_uid}"


def paired_series(copies: Iterable[Series], originals: Iterable[Series]
                  ) -> list[tuple[Series, Series]]:
    """Copies and originals with the same (Series Number, Modality), where that pair names
    one series on each side (an ambiguous one is left unpaired)."""
    def key(s: Series) -> tuple[int | None, str]:
        return (s.series_number, s.modality)

    mine = list(copies)
    theirs = list(originals)
    counts_a = Counter(key(s) for s in mine)
    counts_b = Counter(key(s) for s in theirs)
    by_key = {key(s): s for s in theirs}
    return [(s, by_key[key(s)]) for s in mine
            if s.series_number is not None and counts_a[key(s)] == 1
            and counts_b[key(s)] == 1]
