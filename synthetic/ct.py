"""CT Image Storage objects (PS3.3 A.3) for axial, localizer and reformatted series.

Each object carries the Patient, General Study, General Series, Frame of Reference,
General Equipment, General Acquisition, General Image, Image Plane (C.7.6.2), Image Pixel
(C.7.6.3), Contrast/Bolus (C.7.6.4, contrast series only), CT Image (C.8.2.1), VOI LUT
(C.11.2) and SOP Common modules. Pixels are stored unsigned with Rescale Intercept -1024,
so every HU from -1024 to 3071 is representable with Bits Stored 12.
"""

from __future__ import annotations

import datetime
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom import Dataset

from synthetic.anatomy import HUArray, NoiseBank, Phantom, PlaneGrid
from synthetic.modules import (
    CT_IMAGE_STORAGE,
    HeaderTemplate,
    StudyUIDs,
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
from synthetic.spec import BODY_HALF_DEPTH_MM, SeriesSpec, StudySpec

RESCALE_INTERCEPT = -1024  # stored 0 is -1024 HU, so stored values are never negative
BITS_STORED = 12
MAX_STORED = (1 << BITS_STORED) - 1
AXIAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL_ORIENTATION = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
LOCALIZER_FOV_MM = 500.0
LOCALIZER_MARGIN_MM = 60.0  # the scout reaches beyond the planned range on both ends
# Volume CT dose index of the helical scans (adult body protocol, 32 cm phantom).
CTDI_VOL_MGY = 8.4
# Linear attenuation of water at a CT effective energy (~70 keV), per mm.
MU_WATER_PER_MM = 0.0193


@dataclass(frozen=True)
class SeriesContext:
    """Everything one series' objects are built from."""

    study: StudySpec
    series: SeriesSpec
    uids: StudyUIDs
    seed: int

    def rng(self, purpose: str) -> np.random.Generator:
        # crc32 rather than hash(): stable across interpreter runs.
        tag = zlib.crc32(f"{self.series.key}/{purpose}".encode())
        return np.random.default_rng([self.seed, tag])

    def phantom(self) -> Phantom:
        origin = self.study.to_patient_mm((0.0, 0.0, 0.0))
        return Phantom(self.study.lesions, origin, self.study.table_height_mm,
                       self.study.body_rotation)

    def axial_grid(self) -> PlaneGrid:
        # Reconstruction centred on the table's midline and the body's axis, rounded to
        # a whole mm as the technologist's reconstruction centre would be.
        centre_y = float(round(self.study.body_center_y_mm))
        return PlaneGrid.centred(0.0, centre_y, self.study.fov_mm, self.study.matrix)


def to_stored(hu: npt.NDArray[np.int16]) -> bytes:
    """HU -> stored values of Pixel Data (PS3.3 C.11.1.1.2: HU = stored + intercept)."""
    stored = hu.astype(np.int32) - RESCALE_INTERCEPT
    np.clip(stored, 0, MAX_STORED, out=stored)
    return stored.astype("<u2").tobytes()


def _unsigned(values: npt.NDArray[np.float64]) -> bytes:
    return np.clip(np.rint(values), 0, MAX_STORED).astype("<u2").tobytes()


def _ct_header(ctx: SeriesContext, image_type: tuple[str, ...]) -> dict[str, object]:
    study, series = ctx.study, ctx.series
    when = series_datetime(study, series)
    attrs: dict[str, object] = {}
    attrs.update(patient_study_attributes(study, ctx.uids))
    attrs.update(series_attributes(study, series, ctx.uids, "CT"))
    attrs["PatientPosition"] = "HFS"  # head first supine: +z of the slices is the head
    attrs["FrameOfReferenceUID"] = ctx.uids.frame_of_reference_uid
    attrs["PositionReferenceIndicator"] = ""
    attrs.update(equipment_attributes(study))
    attrs.update(
        {
            "ImageType": list(image_type),
            "AcquisitionNumber": series.acquisition_number,
            "AcquisitionDate": da(when),
            "AcquisitionTime": tm(when),
            "ContentDate": da(when),
            "ContentTime": tm(when),
            "BurnedInAnnotation": "NO",
            "LossyImageCompression": "00",
            "SamplesPerPixel": 1,
            "PhotometricInterpretation": "MONOCHROME2",
            "BitsAllocated": 16,
            "BitsStored": BITS_STORED,
            "HighBit": BITS_STORED - 1,
            "PixelRepresentation": 0,  # unsigned: stored values are HU + 1024 >= 0
            "RescaleIntercept": RESCALE_INTERCEPT,
            "RescaleSlope": 1,
            "RescaleType": "HU",
            "KVP": series.kvp,
            "DataCollectionDiameter": 500.0,
            "DistanceSourceToDetector": 1085.6,
            "DistanceSourceToPatient": 595.0,
            "GantryDetectorTilt": 0.0,
            "TableHeight": study.table_height_mm,
            "RotationDirection": "CW",
            "XRayTubeCurrent": series.tube_current_ma,
            "FilterType": "BODY",
            "FocalSpots": 1.2,
            "ConvolutionKernel": series.kernel,
            "WindowCenter": series.window[0],
            "WindowWidth": series.window[1],
        }
    )
    if series.contrast:
        attrs.update(_contrast_attributes(study, when))
    return attrs


def _contrast_attributes(study: StudySpec, scan: datetime.datetime) -> dict[str, object]:
    """Contrast/Bolus module (C.7.6.4): required when contrast was administered."""
    injected = scan - datetime.timedelta(seconds=70)  # portal-venous delay
    return {
        "ContrastBolusAgent": study.contrast_agent,
        "ContrastBolusRoute": "IV",
        "ContrastBolusVolume": 100.0,
        "ContrastBolusStartTime": tm(injected),
        "ContrastBolusTotalDose": 100.0,
        "ContrastBolusIngredient": "IODINE",
        "ContrastBolusIngredientConcentration": 350.0,
    }


def _helical_attributes(series: SeriesSpec) -> dict[str, object]:
    """CT Image acquisition details of a helical scan (C.8.2.1, all Type 3)."""
    return {
        "ScanOptions": "HELICAL MODE",
        "ExposureTime": 500,
        "Exposure": round(series.tube_current_ma * 0.5),
        "GeneratorPower": round(series.kvp * series.tube_current_ma / 1000),
        "RevolutionTime": 0.5,
        "SingleCollimationWidth": 0.625,
        "TotalCollimationWidth": 40.0,
        "SpiralPitchFactor": 0.984,
        "TableFeedPerRotation": 39.4,
        "TableSpeed": 78.8,
        "CTDIvol": CTDI_VOL_MGY,
    }


def axial_series(ctx: SeriesContext) -> Iterator[Dataset]:
    """Contiguous axial slices, head to feet, as a helical scan is reconstructed."""
    study, series = ctx.study, ctx.series
    header = _ct_header(ctx, ("ORIGINAL", "PRIMARY", "AXIAL"))
    header.update(_helical_attributes(series))
    grid = ctx.axial_grid()
    header.update(
        {
            "Rows": grid.rows,
            "Columns": grid.columns,
            "PixelSpacing": [_ds(grid.row_spacing), _ds(grid.column_spacing)],
            "ImageOrientationPatient": list(AXIAL_ORIENTATION),
            "SliceThickness": series.slice_thickness_mm,
            "SpacingBetweenSlices": series.slice_spacing_mm,
            "ReconstructionDiameter": study.fov_mm,
            "WindowCenterWidthExplanation": _window_name(series),
        }
    )
    template = HeaderTemplate(header)
    phantom = ctx.phantom()
    noise_rng = ctx.rng("noise")
    bank = NoiseBank(noise_rng, grid.rows, grid.columns, series.noise_sd_hu, series.smooth_noise)
    created = series_datetime(study, series)
    for index, z in enumerate(study.slice_positions_mm(series)):
        uid = instance_uid(study, ctx.seed, series.key, index)
        ds = template.new_dataset(CT_IMAGE_STORAGE, uid, created)
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [_ds(grid.x0), _ds(grid.y0), _ds(z)]
        ds.SliceLocation = _ds(z)
        # CTDIvol is only interpretable with its phantom (C.8.2.1.1.x); a fresh item per
        # object so that no two datasets share a mutable sequence.
        ds.CTDIPhantomTypeCodeSequence = [_body_phantom_code()]
        hu = phantom.render_axial(z, grid, contrast=series.contrast)
        hu += bank.sample(noise_rng)
        ds.PixelData = to_stored(hu)
        yield ds


def coronal_mpr_series(ctx: SeriesContext) -> Iterator[Dataset]:
    """Coronal multiplanar reformat (derived), front to back through the body."""
    study, series = ctx.study, ctx.series
    header = _ct_header(ctx, ("DERIVED", "SECONDARY", "REFORMATTED"))
    header["DerivationDescription"] = "Multiplanar reformat of the axial series"
    spacing = study.pixel_spacing_mm
    z_top = study.scan_top_mm + study.table_position_mm
    rows = int(study.scan_length_mm / spacing) + 1
    step = series.slice_spacing_mm
    # By default the planes cover the body's depth, front to back.
    count = series.slice_count or int(2 * BODY_HALF_DEPTH_MM * 0.95 / step)
    first_y = study.body_center_y_mm - (count - 1) * step / 2.0
    # Render only the coronal planes' rows of each axial plane: z x (plane) x x.
    grid = ctx.axial_grid()
    planes = PlaneGrid(grid.x0, first_y, grid.column_spacing, step, grid.columns, count)
    phantom = ctx.phantom()
    volume = np.stack(
        [
            phantom.render_axial(z_top - r * spacing, planes, contrast=series.contrast)
            for r in range(rows)
        ]
    )
    header.update(
        {
            "Rows": rows,
            "Columns": grid.columns,
            "PixelSpacing": [_ds(spacing), _ds(grid.column_spacing)],
            "ImageOrientationPatient": list(CORONAL_ORIENTATION),
            "SliceThickness": series.slice_thickness_mm,
            "SpacingBetweenSlices": step,
            "WindowCenterWidthExplanation": _window_name(series),
        }
    )
    template = HeaderTemplate(header)
    noise_rng = ctx.rng("noise")
    bank = NoiseBank(noise_rng, rows, grid.columns, series.noise_sd_hu, series.smooth_noise)
    created = series_datetime(study, series)
    for index in range(count):
        y = first_y + index * step
        uid = instance_uid(study, ctx.seed, series.key, index)
        ds = template.new_dataset(CT_IMAGE_STORAGE, uid, created)
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [_ds(grid.x0), _ds(y), _ds(z_top)]
        ds.SliceLocation = _ds(y)
        hu: HUArray = volume[:, index, :] + bank.sample(noise_rng)
        ds.PixelData = to_stored(hu)
        yield ds


def localizer_series(ctx: SeriesContext) -> Iterator[Dataset]:
    """Two projection scouts (AP and lateral), as scanners take before planning the scan."""
    study, series = ctx.study, ctx.series
    matrix = study.matrix
    spacing = LOCALIZER_FOV_MM / matrix
    z_top = study.scan_top_mm + study.table_position_mm + LOCALIZER_MARGIN_MM
    length = study.scan_length_mm + 2 * LOCALIZER_MARGIN_MM
    rows = int(length / spacing) + 1
    half = LOCALIZER_FOV_MM / 2.0 - spacing / 2.0
    centre_y = float(round(study.body_center_y_mm))
    grid = PlaneGrid(-half, centre_y - half, spacing, spacing, matrix, matrix)
    phantom = ctx.phantom()
    # Line integrals of attenuation through the noiseless phantom: the scout is a digital
    # radiograph, brighter where the beam is attenuated more. Summed plane by plane so the
    # volume is never held in memory.
    frontal = np.empty((rows, matrix), dtype=np.float64)
    lateral = np.empty((rows, matrix), dtype=np.float64)
    for r in range(rows):
        hu = phantom.render_axial(z_top - r * spacing, grid, contrast=False)
        mu = np.maximum(hu.astype(np.float32) + 1000.0, 0.0)
        frontal[r] = mu.sum(axis=0)
        lateral[r] = mu.sum(axis=1)
    scale = MU_WATER_PER_MM / 1000.0 * spacing
    views = (
        ("AP", CORONAL_ORIENTATION, (grid.x0, 0.0, z_top), frontal * scale),
        ("LAT", SAGITTAL_ORIENTATION, (0.0, grid.y0, z_top), lateral * scale),
    )
    header = _ct_header(ctx, ("ORIGINAL", "PRIMARY", "LOCALIZER"))
    del header["RescaleType"]
    header.update(
        {
            "Rows": rows,
            "Columns": matrix,
            "PixelSpacing": [_ds(spacing), _ds(spacing)],
            "SliceThickness": series.slice_thickness_mm,
            "ScanOptions": "SURVIEW",
            "ExposureTime": 4700,
            # Projection values are attenuation line integrals, not HU: no offset, and no
            # Rescale Type "HU" (dciodvfy rejects HU on ORIGINAL LOCALIZER images).
            "RescaleIntercept": 0,
            "WindowCenter": 1200,
            "WindowWidth": 2500,
            "WindowCenterWidthExplanation": "SCOUT",
        }
    )
    created = series_datetime(study, series)
    rng = ctx.rng("noise")
    for index, (view, orientation, position, line_integral) in enumerate(views):
        ds = new_dataset(
            CT_IMAGE_STORAGE, instance_uid(study, ctx.seed, series.key, index), created
        )
        apply(ds, header)
        ds.InstanceNumber = index + 1
        ds.AcquisitionNumber = index + 1
        ds.ImageOrientationPatient = list(orientation)
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.ImageComments = f"{view} topogram"
        # 300 stored units per attenuation length plus mild detector noise.
        values = line_integral * 300.0 + rng.normal(0.0, 4.0, size=line_integral.shape)
        ds.PixelData = _unsigned(values)
        yield ds


def _body_phantom_code() -> Dataset:
    item = Dataset()
    item.CodeValue = "113691"
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = "IEC Body Dosimetry Phantom"
    return item


def _window_name(series: SeriesSpec) -> str:
    centre = series.window[0]
    if centre < -200:
        return "LUNG"
    if centre > 200:
        return "BONE"
    return "SOFT TISSUE"


def _ds(value: float) -> float:
    """Round for a DS value (PS3.5: at most 16 characters)."""
    return float(f"{value:.10g}") if math.isfinite(value) else value
