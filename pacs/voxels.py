"""Read a series' pixels from Orthanc in parallel, as a coarse volume for registration.

One instance's header (and its transfer syntax) says how the pixels are stored; the
slice positions come from the index, so no slice needs a request of its own for its
geometry. The slices are then fetched by a few workers over kept-alive connections:
``/instances/{id}/frames/0/raw`` for native (uncompressed) transfer syntaxes, where Orthanc
only cuts the bytes out of the file, and ``/instances/{id}/numpy`` (Orthanc >= 1.10,
https://orthanc.uclouvain.be/book/users/rest.html#download-numpy) for any other, which
Orthanc decodes. Each worker averages its slice into ~3 mm blocks as soon as it arrives
(:func:`imaging.volume.block_mean`), so a 300-slice 512 x 512 series never sits in memory
at full resolution.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from imaging.errors import ImagingError
from imaging.geometry import slice_normal
from imaging.volume import TARGET_VOXEL_MM, Volume, assemble, block_mean, downsample_factor
from pacs.errors import PacsError
from pacs.metadata import frame_tags
from pacs.orthanc import JsonObject, OrthancClient

#: Concurrent requests while reading one series: enough to keep Orthanc's two decoding
#: cores and the network busy, few enough not to starve the other users of the machine.
READ_WORKERS = 8
#: Implicit and explicit VR little endian: Pixel Data is stored as it is used.
NATIVE_TRANSFER_SYNTAXES = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})

T = TypeVar("T")
Pixels = npt.NDArray[Any]


class PixelDataError(PacsError):
    """A series' pixels cannot be read as a volume (colour, malformed, too few slices)."""


@dataclass(frozen=True)
class SliceRef:
    """An indexed image: its instance's Orthanc id, its position along the slice normal,
    and for a frame of a multi-frame instance its number (1-based, as DICOM counts)."""

    orthanc_id: str
    position_mm: float
    frame: int | None = None


@dataclass(frozen=True)
class PixelLayout:
    """How one series' pixels are stored (from one instance's header)."""

    rows: int
    columns: int
    dtype: str  # numpy dtype of a stored value, little endian
    native: bool  # uncompressed: /frames/0/raw is the pixel array itself
    slope: float
    intercept: float

    @classmethod
    def of(cls, tags: JsonObject, transfer_syntax: str | None) -> PixelLayout:
        """The layout of one image; a multi-frame image's frame gives the tags that hold
        for it (:func:`pacs.metadata.frame_tags`: rescale from its Pixel Value
        Transformation group)."""
        def number(keyword: str, default: float) -> float:
            value = tags.get(keyword)
            if isinstance(value, list):
                value = value[0] if value else None
            try:
                return float(str(value).split("\\")[0]) if value is not None else default
            except ValueError:
                return default

        if int(number("SamplesPerPixel", 1)) != 1:
            raise PixelDataError("colour images are not read as a volume")
        bits = int(number("BitsAllocated", 16))
        if bits not in (8, 16):
            raise PixelDataError(f"{bits}-bit pixels are not read as a volume")
        signed = int(number("PixelRepresentation", 0)) == 1
        dtype = f"<{'i' if signed else 'u'}{bits // 8}"
        return cls(rows=int(number("Rows", 0)), columns=int(number("Columns", 0)), dtype=dtype,
                   native=transfer_syntax in NATIVE_TRANSFER_SYNTAXES,
                   slope=number("RescaleSlope", 1.0), intercept=number("RescaleIntercept", 0.0))

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.columns * np.dtype(self.dtype).itemsize


def read_stored_pixels(client: OrthancClient, orthanc_id: str, layout: PixelLayout,
                       frame: int | None = None) -> Pixels:
    """One image's stored pixel values, (rows, columns): the instance's, or one frame's
    (1-based) of a multi-frame instance."""
    index = (frame or 1) - 1  # Orthanc counts frames from 0
    if layout.native:
        raw = client.instance_raw_frame(orthanc_id, index)
        if len(raw) == layout.frame_bytes:
            return np.frombuffer(raw, dtype=layout.dtype).reshape(layout.rows, layout.columns)
        # Another transfer syntax than the reference instance's: let Orthanc decode it.
    payload = client.instance_numpy(orthanc_id, None if frame is None else index)
    try:
        array = np.load(io.BytesIO(payload), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise PixelDataError(f"Orthanc's numpy answer could not be read ({exc})") from None
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]  # a whole instance: (frames, rows, columns, samples)
    if array.ndim != 3 or array.shape[2] != 1:
        raise PixelDataError(f"expected one grayscale frame, got an array of {array.shape}")
    pixels: Pixels = array[:, :, 0]
    return pixels


def read_slices(client: OrthancClient, images: Sequence[SliceRef], layout: PixelLayout,
                convert: Callable[[Pixels], T], *, workers: int = READ_WORKERS) -> list[T]:
    """``convert`` of each image's stored pixels (frames included), in the order given,
    read in parallel."""
    if not images:
        return []

    def one(image: SliceRef) -> T:
        return convert(read_stored_pixels(client, image.orthanc_id, layout, image.frame))

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(images))),
                            thread_name_prefix="nadir-voxels") as pool:
        return list(pool.map(one, images))


def read_volume(client: OrthancClient, slices: Sequence[SliceRef], *, modality: str,
                workers: int = READ_WORKERS, target_mm: float = TARGET_VOXEL_MM) -> Volume:
    """The series as a volume of ~``target_mm`` voxels in patient space.

    Geometry comes from the middle slice's header (orientation, pixel spacing, position,
    rescale) and the index's slice positions: a stack of parallel slices that share their
    in-plane position, as reconstructed axial (and MPR) series are. Two header requests,
    then one request per slice. The slices may be frames of multi-frame instances
    (enhanced or legacy-converted CT and MR): the middle frame's functional groups then
    give the geometry and the rescale, and each frame is one request.
    """
    if len(slices) < 2:
        raise PixelDataError(f"a volume needs 2 or more slices, the series has {len(slices)}")
    ordered = sorted(slices, key=lambda s: s.position_mm)
    reference = ordered[len(ordered) // 2]
    tags = frame_tags(client.instance_tags(reference.orthanc_id), reference.frame or 1)
    layout = PixelLayout.of(tags, client.instance_metadata(reference.orthanc_id,
                                                           "TransferSyntax"))
    position = _numbers(tags.get("ImagePositionPatient"), 3, "ImagePositionPatient")
    orientation = _numbers(tags.get("ImageOrientationPatient"), 6, "ImageOrientationPatient")
    spacing = _numbers(tags.get("PixelSpacing"), 2, "PixelSpacing")
    try:
        normal = slice_normal(orientation)
        factor = downsample_factor(math.sqrt(spacing[0] * spacing[1]), target_mm)
    except ImagingError as exc:
        raise PixelDataError(str(exc)) from None
    slope, intercept = np.float32(layout.slope), np.float32(layout.intercept)

    def convert(stored: Pixels) -> npt.NDArray[np.float32]:
        values = stored.astype(np.float32)
        if slope != 1:
            values *= slope
        if intercept != 0:
            values += intercept
        return block_mean(values, factor)

    blocks = read_slices(client, ordered, layout, convert, workers=workers)
    shift = ordered[0].position_mm - reference.position_mm
    first = [position[i] + shift * normal[i] for i in range(3)]
    try:
        return assemble(blocks, [s.position_mm for s in ordered], first,
                        (orientation[0], orientation[1], orientation[2], orientation[3],
                         orientation[4], orientation[5]),
                        (spacing[0], spacing[1]), factor, modality=modality,
                        target_mm=target_mm)
    except ImagingError as exc:
        raise PixelDataError(str(exc)) from None


def _numbers(value: object, count: int, keyword: str) -> list[float]:
    parts = value if isinstance(value, list) else str(value or "").split("\\")
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) != count or not all(math.isfinite(v) for v in numbers):
        raise PixelDataError(f"{keyword} needs {count} numbers, got {value!r}")
    return numbers
