"""Multi-frame test data: a synthetic single-frame series converted by highdicom.

The issue asks for a real conversion, not a hand-made multi-frame: highdicom's
``LegacyConvertedEnhancedCTImage`` (PS3.3 A.70) turns the generator's CT Image
Storage slices into one Legacy Converted Enhanced CT object whose frames carry their
positions in Per-Frame Functional Groups (Plane Position) and their orientation, pixel
measures and rescale in the Shared Functional Groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pydicom import Dataset

from synthetic.modules import derived_uid


def with_patient_id(spec: Any, patient_id: str) -> Any:
    """The same study of another patient: new UIDs (they derive from the patient id),
    the same pixels (the noise derives from the seed and the series)."""
    return dataclasses.replace(spec, patient=dataclasses.replace(spec.patient,
                                                                 patient_id=patient_id))


def enhanced_ct(slices: Sequence[Dataset], *, series_number: int) -> Dataset:
    """One Legacy Converted Enhanced CT instance made by highdicom from ``slices`` (one
    single-frame CT series), in a series of its own with deterministic UIDs."""
    from highdicom.legacy import LegacyConvertedEnhancedCTImage

    first = slices[0]
    series_uid = derived_uid("enhanced-conversion", first.SeriesInstanceUID)
    converted: Dataset = LegacyConvertedEnhancedCTImage(
        list(slices), series_instance_uid=series_uid, series_number=series_number,
        sop_instance_uid=derived_uid("enhanced-conversion", series_uid, 1), instance_number=1)
    return converted


def frame_of(enhanced: Dataset, sop_instance_uid: str) -> int:
    """The frame (1-based) converted from the single-frame instance ``sop_instance_uid``
    (Conversion Source Attributes, PS3.3 C.7.6.16.2.25)."""
    for number, item in enumerate(enhanced.PerFrameFunctionalGroupsSequence, start=1):
        source = item.ConversionSourceAttributesSequence[0]
        if source.ReferencedSOPInstanceUID == sop_instance_uid:
            return number
    raise AssertionError(f"no frame of the conversion comes from {sop_instance_uid}")
