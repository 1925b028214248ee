"""Small DICOM objects for tests that need a few valid instances quickly (small CT slices)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from imaging.dicomfile import part10_bytes


def tiny_ct_series(
    n: int = 3, *, patient_id: str = "TINY-1", study_uid: str | None = None,
    study_date: str = "20260105", size: int = 8, spacing: tuple[float, float] = (0.7, 0.7),
) -> list[Dataset]:
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    out = []
    for i in range(n):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientID, ds.PatientName = patient_id, "Test^Tiny"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.StudyDate, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = study_date, "CT", 1, i + 1
        ds.ImagePositionPatient = [0.0, 0.0, -2.5 * i]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = list(spacing), 2.5
        ds.Rows = ds.Columns = size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = np.full((size, size), i, np.int16).tobytes()
        out.append(ds)
    return out


def to_bytes(ds: Dataset) -> bytes:
    return part10_bytes(ds)


def write_all(datasets: list[Dataset], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, ds in enumerate(datasets):
        path = folder / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
