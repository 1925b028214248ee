"""Pixel data to modality values: the one module that talks to pydicom's pixel decoders.

Compressed transfer syntaxes decode through pydicom's plugins: JPEG baseline and extended,
JPEG lossless, JPEG-LS and JPEG 2000 through pylibjpeg (with pylibjpeg-libjpeg and
pylibjpeg-openjpeg) or pyjpegls, and RLE Lossless through pydicom itself or pylibjpeg-rle.
Whatever goes wrong inside a decoder is translated into :class:`ImageDecodeError` here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from pydicom import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_modality_lut
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLSLossless,
    JPEGLSNearLossless,
)

from imaging.render.attributes import (
    PIXEL_VALUE_TRANSFORMATION,
    check_frame,
    frame_value,
    sop_instance_uid,
)
from imaging.render.errors import ImageDecodeError, RenderError

ModalityArray = npt.NDArray[np.float64]

# An encapsulated Pixel Data value starts with an Item tag (FFFE,E000), PS3.5 A.4.
_ITEM_TAG = b"\xfe\xff\x00\xe0"

# Plugins tried first when installed, for speed: pydicom otherwise picks pylibjpeg for JPEG-LS,
# about 4x slower than pyjpegls (CharLS) on a 512 x 512 CT slice. The others stay as fallback.
_PREFERRED_PLUGIN = {
    JPEGLSLossless: "pyjpegls",
    JPEGLSNearLossless: "pyjpegls",
}


def decode_frame(ds: Dataset, frame: int = 1) -> ModalityArray:
    """Modality values (HU for CT) of one frame of a monochrome image, as float64 (rows, cols).

    ``frame`` is 1-based, as frame numbers are in DICOM. The stored values are decoded in the
    image's transfer syntax and mapped by the Modality LUT stage (PS3.3 C.11.1): a Modality
    LUT Sequence if the image has one, otherwise Rescale Slope and Rescale Intercept
    (C.11.1.1.2), taken for enhanced multi-frame images from the frame's Pixel Value
    Transformation functional group (C.7.6.16.2.9).

    Raises :class:`ImageDecodeError` (naming the SOP Instance UID and the transfer syntax) when
    the pixel data cannot be decoded, and :class:`RenderError` for a frame out of range or a
    colour image.
    """
    check_frame(ds, frame)
    _check_monochrome(ds)
    stored = _decode_stored(ds, frame)
    return _modality_values(stored, ds, frame)


def transfer_syntax_of(ds: Dataset) -> UID | None:
    """The transfer syntax the pixel data is encoded in, or None when it cannot be known.

    Lenient read: a dataset received over the network or built in memory may have no File
    Meta Information (PS3.10 7.1). Native pixel data is then read in the encoding the dataset
    was read with, or Explicit VR Little Endian when that is unknown too (big endian is
    retired, PS3.5 A.3); encapsulated pixel data cannot be guessed.
    """
    file_meta = getattr(ds, "file_meta", None)
    declared = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    if declared:
        return UID(str(declared))
    if _is_encapsulated(ds):
        return None
    implicit, little = ds.original_encoding
    if little is False:
        return ExplicitVRBigEndian
    return ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian


def _is_encapsulated(ds: Dataset) -> bool:
    if "PixelData" not in ds:
        return False
    element = ds["PixelData"]
    value = element.value
    return bool(element.is_undefined_length) or (
        isinstance(value, bytes | bytearray) and bytes(value[:4]) == _ITEM_TAG
    )


def _check_monochrome(ds: Dataset) -> None:
    # The Modality LUT stage applies to grayscale images only (PS3.3 C.11.1); a key image of
    # a colour image would need a different pipeline, and CT is MONOCHROME1/2 (C.8.2.1.1.3).
    samples = ds.get("SamplesPerPixel", 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if samples != 1 or not photometric.startswith("MONOCHROME"):
        raise RenderError(
            f"key images need a monochrome image, got SamplesPerPixel={samples} and "
            f"PhotometricInterpretation={photometric}", sop_instance_uid=sop_instance_uid(ds),
        )


def _decode_stored(ds: Dataset, frame: int) -> npt.NDArray[np.generic]:
    uid = sop_instance_uid(ds)
    syntax = transfer_syntax_of(ds)
    if syntax is None:
        raise ImageDecodeError(
            sop_instance_uid=uid, transfer_syntax_uid="", transfer_syntax_name="unknown",
            reason="encapsulated pixel data without a Transfer Syntax UID in the file meta",
        )

    def failure(reason: str) -> ImageDecodeError:
        return ImageDecodeError(
            sop_instance_uid=uid, transfer_syntax_uid=str(syntax),
            transfer_syntax_name=syntax.name, reason=reason,
        )

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise failure("no decoder exists for this transfer syntax") from exc
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies)
        raise failure(f"no decoding plugin is installed ({missing})")
    preferred = _PREFERRED_PLUGIN.get(syntax, "")
    if preferred in decoder.available_plugins:
        try:
            stored, _ = decoder.as_array(ds, index=frame - 1, decoding_plugin=preferred)
            return _two_dimensional(stored, failure)
        except Exception:  # every installed plugin gets its turn below, errors and all
            pass
    try:
        stored, _ = decoder.as_array(ds, index=frame - 1)
    except Exception as exc:
        # pydicom and its plugins raise ValueError, RuntimeError, AttributeError, KeyError,
        # struct.error ... for damaged or inconsistent data: the report only needs to know
        # that this image, in this transfer syntax, did not decode.
        raise failure(f"{type(exc).__name__}: {exc}") from exc
    return _two_dimensional(stored, failure)


def _two_dimensional(
    stored: npt.NDArray[np.generic], failure: Callable[[str], ImageDecodeError]
) -> npt.NDArray[np.generic]:
    if stored.ndim != 2:
        raise failure(f"decoded to shape {stored.shape}, expected (rows, columns)")
    return stored


def _modality_values(
    stored: npt.NDArray[np.generic], ds: Dataset, frame: int
) -> ModalityArray:
    if ds.get("ModalityLUTSequence"):
        # PS3.3 C.11.1: a Modality LUT Sequence and Rescale Slope/Intercept are alternatives;
        # pydicom applies the LUT (with its first mapped value) when present.
        return np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)
    slope = _number(ds, frame, "RescaleSlope", default=1.0)
    intercept = _number(ds, frame, "RescaleIntercept", default=0.0)
    # PS3.3 C.11.1.1.2: output units = m * stored value + b.
    rescale = Dataset()
    rescale.RescaleSlope = slope
    rescale.RescaleIntercept = intercept
    return np.asarray(apply_modality_lut(stored, rescale), dtype=np.float64)


def _number(ds: Dataset, frame: int, keyword: str, *, default: float) -> float:
    value = frame_value(ds, frame, PIXEL_VALUE_TRANSFORMATION, keyword)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"{keyword} must be a number, got {value!r}",
                          sop_instance_uid=sop_instance_uid(ds)) from exc
    if not math.isfinite(number):
        raise RenderError(f"{keyword} must be finite, got {value!r}",
                          sop_instance_uid=sop_instance_uid(ds))
    return number
