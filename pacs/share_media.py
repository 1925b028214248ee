"""A share's copy as DICOM media (PS3.10): a zip of its instances and a DICOMDIR.

Every instance of the copy's Orthanc patient goes in (the de-identified images, and the
review's SR and PDF once published: they carry the pseudonym as Patient ID too), in a
File-set written by pydicom's :class:`~pydicom.fileset.FileSet`, which names the files
(``PT000000/ST000000/...``) and writes the DICOMDIR (PS3.3 F.2, Basic Directory IOD).

The directory's records need a few attributes that the profile empties (Study ID, Z in
PS3.15 E.1-1) or that an instance may lack: those are filled in the media's copy with
neutral values (the study's number in the share, midnight), never with original values.
"""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import IO

from pydicom import Dataset, dcmread
from pydicom.fileset import FileSet

from pacs.deid_profile import DeidentificationError
from pacs.orthanc import OrthancClient

#: PS3.10 8.2: a File-set ID is a CS of at most 16 characters.
FILE_SET_ID = "NADIR SHARE"
CHUNK = 64 * 1024


def write_package(client: OrthancClient, orthanc_patient: str, out: IO[bytes]) -> int:
    """Write the zip of the patient's instances and their DICOMDIR to ``out``; the number
    of instances written."""
    with tempfile.TemporaryDirectory(prefix="nadir-share-") as tmp:
        media = Path(tmp) / "media"
        file_set = FileSet()
        file_set.ID = FILE_SET_ID
        count = 0
        for number, study_id in enumerate(client.patient(orthanc_patient)["Studies"], 1):
            for series_id in client.study(str(study_id))["Series"]:
                for index, instance in enumerate(client.series_instances(str(series_id)), 1):
                    ds = _read(client.instance_file(str(instance["ID"])))
                    _fill_directory_keys(ds, number, index)
                    try:
                        file_set.add(ds)
                    except ValueError as exc:  # a Type 1 key of the DICOMDIR is missing
                        raise DeidentificationError(
                            f"instance {instance['ID']} cannot go on media: {exc}") from None
                    count += 1
        file_set.write(media)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(media.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(media).as_posix())
    return count


def stream_file(path: Path) -> Iterator[bytes]:
    """The file's bytes in chunks; the file is deleted once read (or abandoned)."""
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def _read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lenient read: the copy was written by Orthanc
        return dcmread(BytesIO(data))


def _fill_directory_keys(ds: Dataset, study_number: int, instance_number: int) -> None:
    """Type 1 keys of the PATIENT, STUDY, SERIES and IMAGE records (PS3.3 F.5), filled
    with neutral values where the copy has none."""
    if not ds.get("StudyID"):
        ds.StudyID = str(study_number)
    if not ds.get("StudyTime"):
        ds.StudyTime = "000000"
    if ds.get("SeriesNumber") in (None, ""):
        ds.SeriesNumber = 0
    if ds.get("InstanceNumber") in (None, ""):
        ds.InstanceNumber = instance_number
