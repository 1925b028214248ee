"""The scanner's "patient protocol" page: a Secondary Capture Image (PS3.3 A.8.1).

Scanners store their dose summary screen as a one-image secondary capture series whose
Modality is CT, which makes it a classic trap for series pairing; the generator writes one
as a distractor. Modules: Patient, General Study, General Series, General Equipment,
SC Equipment (C.8.6.1), General Image, Image Pixel, SC Image (C.8.6.2), SOP Common.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydicom import Dataset

from synthetic.ct import SeriesContext
from synthetic.modules import (
    SECONDARY_CAPTURE_IMAGE_STORAGE,
    apply,
    da,
    equipment_attributes,
    instance_uid,
    new_dataset,
    patient_study_attributes,
    series_attributes,
    series_datetime,
    tm,
)

SCREEN_ROWS = 512
SCREEN_COLUMNS = 512


def dose_screen_series(ctx: SeriesContext) -> Iterator[Dataset]:
    """One secondary-capture page with burned-in "text" (bars standing for table rows)."""
    study, series = ctx.study, ctx.series
    when = series_datetime(study, series)
    ds = new_dataset(
        SECONDARY_CAPTURE_IMAGE_STORAGE, instance_uid(study, ctx.seed, series.key, 0), when
    )
    apply(ds, patient_study_attributes(study, ctx.uids))
    apply(ds, series_attributes(study, series, ctx.uids, "CT"))
    apply(ds, equipment_attributes(study))
    apply(
        ds,
        {
            "ConversionType": "WSD",  # workstation screen capture (C.8.6.1)
            "DateOfSecondaryCapture": da(when),
            "TimeOfSecondaryCapture": tm(when),
            "ImageType": ["DERIVED", "SECONDARY", "OTHER"],
            "InstanceNumber": 1,
            "PatientOrientation": "",
            "ContentDate": da(when),
            "ContentTime": tm(when),
            "BurnedInAnnotation": "YES",  # the page shows the patient's name and dose
            "SamplesPerPixel": 1,
            "PhotometricInterpretation": "MONOCHROME2",
            "Rows": SCREEN_ROWS,
            "Columns": SCREEN_COLUMNS,
            "BitsAllocated": 8,
            "BitsStored": 8,
            "HighBit": 7,
            "PixelRepresentation": 0,
        },
    )
    ds.PixelData = _page(ctx.rng("page")).tobytes()
    yield ds


def _page(rng: np.random.Generator) -> np.ndarray[tuple[int, int], np.dtype[np.uint8]]:
    page = np.zeros((SCREEN_ROWS, SCREEN_COLUMNS), dtype=np.uint8)
    page[40:44, 32:480] = 200  # header rule
    for row in range(64, 400, 24):
        for col in (32, 160, 256, 352):
            width = int(rng.integers(30, 90))
            page[row : row + 10, col : col + width] = 230
    return page
