"""Windowing: the VOI LUT stage from modality values (HU) to 8-bit display values.

PS3.3 C.11.2.1.2 defines Window Center and Window Width; C.11.2.1.2.1 the default LINEAR
function, and C.11.2.1.3 the LINEAR_EXACT and SIGMOID alternatives an image may name in
VOI LUT Function. pydicom computes the functions; this module holds the window type, the
clinical presets, and reads the image's own window. The output range here is 8-bit, 0..255.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom import Dataset
from pydicom.pixels.processing import apply_windowing

from imaging.render.attributes import FRAME_VOI_LUT, frame_value
from imaging.render.errors import RenderError

DisplayArray = npt.NDArray[np.float32]

Y_MIN, Y_MAX = 0.0, 255.0  # 8-bit output range of the VOI LUT stage


class VoiFunction(enum.Enum):
    """VOI LUT Function (0028,1056), PS3.3 C.11.2.1.3."""

    LINEAR = "LINEAR"
    LINEAR_EXACT = "LINEAR_EXACT"
    SIGMOID = "SIGMOID"


@dataclass(frozen=True)
class Window:
    """A window in modality units (HU for CT): centre and width, PS3.3 C.11.2.1.2."""

    center: float
    width: float
    name: str = ""
    function: VoiFunction = VoiFunction.LINEAR

    def __post_init__(self) -> None:
        if not math.isfinite(self.center):
            raise RenderError(f"Window center must be finite, got {self.center!r}")
        # C.11.2.1.2.1: "Window Width shall be greater than or equal to 1" for LINEAR;
        # C.11.2.1.3.1/2: greater than 0 for SIGMOID and LINEAR_EXACT.
        minimum_ok = self.width >= 1 if self.function is VoiFunction.LINEAR else self.width > 0
        if not (math.isfinite(self.width) and minimum_ok):
            bound = ">= 1" if self.function is VoiFunction.LINEAR else "> 0"
            raise RenderError(
                f"Window width must be {bound} for {self.function.value}, got {self.width!r}"
            )

    @property
    def label(self) -> str:
        """Text for the image corner, e.g. ``"LUNG  W 1500  L -600"``."""
        numbers = f"W {self.width:g}  L {self.center:g}"
        return f"{self.name}  {numbers}" if self.name else numbers


# Common clinical presets, as listed for example in Radiopaedia's "Windowing (CT)" article;
# institutions vary. Liver uses a higher level than plain soft tissue because the enhancing
# parenchyma of the portal venous phase sits around 100 HU.
LUNG = Window(center=-600, width=1500, name="LUNG")
MEDIASTINUM = Window(center=40, width=400, name="MEDIASTINUM")
LIVER = Window(center=60, width=160, name="LIVER")
BONE = Window(center=400, width=1800, name="BONE")
PRESETS: MappingProxyType[str, Window] = MappingProxyType(
    {w.name: w for w in (LUNG, MEDIASTINUM, LIVER, BONE)}
)


def window_from_dataset(ds: Dataset, frame: int = 1) -> Window | None:
    """The image's own window (Window Center/Width, PS3.3 C.11.2.1.2), or None if it has none.

    Multiple values are alternative views (C.11.2.1.2); the first is taken, named by the first
    Window Center & Width Explanation. Enhanced multi-frame images carry it in the Frame VOI
    LUT functional group (C.7.6.16.2.10). Lenient read: an unusable window (a width below the
    minimum, a non-number) counts as absent, so the caller falls back to a preset.
    """
    center = _first(frame_value(ds, frame, FRAME_VOI_LUT, "WindowCenter"))
    width = _first(frame_value(ds, frame, FRAME_VOI_LUT, "WindowWidth"))
    if center is None or width is None:
        return None
    explanation = _first(frame_value(ds, frame, FRAME_VOI_LUT, "WindowCenterWidthExplanation"))
    function_name = str(frame_value(ds, frame, FRAME_VOI_LUT, "VOILUTFunction") or "LINEAR")
    try:
        function = VoiFunction(function_name.strip().upper())
    except ValueError:
        function = VoiFunction.LINEAR  # C.11.2.1.3: LINEAR is the default when not named
    try:
        return Window(float(center), float(width), str(explanation or ""), function)
    except (TypeError, ValueError, RenderError):
        return None


def _first(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str | bytes):
        return value
    try:
        return next(iter(value), None)
    except TypeError:
        return value


def automatic_window(values: npt.NDArray[np.floating[Any]]) -> Window:
    """A LINEAR window that maps the frame's minimum to 0 and its maximum to 255."""
    low, high = float(np.min(values)), float(np.max(values))
    # Solving C.11.2.1.2.1 for c - 0.5 - (w-1)/2 = low and c - 0.5 + (w-1)/2 = high.
    return Window(center=(low + high) / 2 + 0.5, width=high - low + 1, name="AUTO")


def voi_display(values: npt.NDArray[np.floating[Any]], window: Window) -> DisplayArray:
    """Display values in [0, 255] (not yet rounded), per the window's VOI LUT Function.

    pydicom's :func:`~pydicom.pixels.apply_windowing` computes LINEAR (PS3.3 C.11.2.1.2.1),
    LINEAR_EXACT (C.11.2.1.3.2) and SIGMOID (C.11.2.1.3.1); it is handed the window as a
    VOI LUT module of its own, so that the window may come from anywhere (a preset, the
    image, the frame's range).
    """
    if window.function.value == "LINEAR" and window.width > 1:
        return _linear_float32(np.asarray(values), window)
    # SIGMOID far below the centre: exp() overflows to inf and y tends to ymin, as it should.
    with np.errstate(over="ignore"):
        display = apply_windowing(np.asarray(values), _voi_lut_module(window))
    return np.asarray(display, dtype=np.float32)


def _linear_float32(values: npt.NDArray[Any], window: Window) -> DisplayArray:
    """LINEAR (PS3.3 C.11.2.1.2.1) in float32, ymin 0 and ymax 255: the three branches of
    the standard are one line clipped to [0, 255] (at x = c - 0.5 - (w-1)/2 the line is 0,
    past c - 0.5 + (w-1)/2 above 255). pydicom's own computes in float64 (4.5 ms per 512²
    slice here); this gives the same 8-bit values, to within one grey level
    (tests/unit/test_render.py)."""
    x = values.astype(np.float32, copy=False)
    scale = np.float32(Y_MAX / (window.width - 1))
    offset = np.float32(0.5 * Y_MAX - (window.center - 0.5) * Y_MAX / (window.width - 1))
    display = x * scale
    display += offset
    return np.clip(display, np.float32(0), np.float32(Y_MAX), out=display)


def _voi_lut_module(window: Window) -> Dataset:
    """The window as a VOI LUT module whose output range (ymin, ymax) is 8-bit, 0..255.

    pydicom takes ymin and ymax from the stored pixel range (C.11.2.1.2.1): 8 unsigned
    stored bits and no Rescale Slope/Intercept give [Y_MIN, Y_MAX].
    """
    module = Dataset()
    module.PhotometricInterpretation = "MONOCHROME2"
    module.BitsStored = 8
    module.PixelRepresentation = 0
    module.WindowCenter = window.center
    module.WindowWidth = window.width
    module.VOILUTFunction = window.function.value
    return module


def voi_to_8bit(values: npt.NDArray[np.floating[Any]], window: Window) -> npt.NDArray[np.uint8]:
    """Modality values through the VOI LUT stage to 8-bit display values (rounded)."""
    return np.rint(voi_display(values, window)).astype(np.uint8)


def invert_for_monochrome1(ds: Dataset, display: DisplayArray) -> DisplayArray:
    """MONOCHROME1 shows the minimum value as white (PS3.3 C.7.6.3.1.2): invert after VOI."""
    if str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1":
        return np.float32(Y_MAX) - display
    return display

