"""Key images for the specialist report: decoding, windowing, caliper crops and thumbnails.

Pure functions over pydicom datasets and numpy arrays; the report passes datasets in and gets
pictures back (:class:`Picture`), which it encodes as PNG or JPEG as each format needs.
``decode`` is the adapter to pydicom's pixel decoders, ``draw`` the one to Pillow.
"""

from __future__ import annotations

from imaging.render.decode import decode_frame
from imaging.render.errors import ImageDecodeError, RenderError
from imaging.render.keyimage import (
    CropBox,
    Endpoints,
    KeyImage,
    crop_box,
    png_data_uri,
    render_key_image,
    scale_bar_mm,
)
from imaging.render.orientation import EdgeLetters, direction_letters, orientation_letters
from imaging.render.picture import Picture
from imaging.render.window import (
    BONE,
    LIVER,
    LUNG,
    MEDIASTINUM,
    PRESETS,
    VoiFunction,
    Window,
    automatic_window,
    voi_display,
    voi_to_8bit,
    window_from_dataset,
)

__all__ = [
    "BONE",
    "LIVER",
    "LUNG",
    "MEDIASTINUM",
    "PRESETS",
    "CropBox",
    "EdgeLetters",
    "Endpoints",
    "ImageDecodeError",
    "KeyImage",
    "Picture",
    "RenderError",
    "VoiFunction",
    "Window",
    "automatic_window",
    "crop_box",
    "decode_frame",
    "direction_letters",
    "orientation_letters",
    "png_data_uri",
    "render_key_image",
    "scale_bar_mm",
    "voi_display",
    "voi_to_8bit",
    "window_from_dataset",
]
