"""Orientation letters for the edges of a displayed image.

The patient coordinate system is LPS (PS3.3 C.7.6.2.1.1): +x towards the patient's Left, +y
Posterior, +z Head. ImageOrientationPatient gives the direction cosines of the row (the
direction of increasing column index, left to right on screen) and then of the column (the
direction of increasing row index, top to bottom). The letters are those of Patient
Orientation, PS3.3 C.7.6.1.1.1: A/P, R/L, H/F, the dominant axis first for an oblique
direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from imaging.render.errors import RenderError

# Letter for the positive and the negative direction of each LPS axis (C.7.6.1.1.1).
_AXIS_LETTERS = (("L", "R"), ("P", "A"), ("H", "F"))

# A component below sin(15 deg) ~ 0.26 is a gantry tilt or a slightly oblique reformat, not a
# second direction worth a letter: a 10-degree tilted axial still reads A/P/R/L. Above it the
# edge gets two or three letters (e.g. "AH"), as viewers show oblique planes.
OBLIQUE_COMPONENT = math.sin(math.radians(15))


@dataclass(frozen=True)
class EdgeLetters:
    """Letters of the directions that each edge of the displayed image points to."""

    top: str
    bottom: str
    left: str
    right: str


def direction_letters(direction: Sequence[float]) -> str:
    """Letters of a patient-space (LPS) direction, dominant axis first, e.g. "L" or "AH"."""
    if len(direction) != 3 or not all(math.isfinite(v) for v in direction):
        raise RenderError(f"a direction needs 3 finite components, got {list(direction)}")
    norm = math.sqrt(sum(v * v for v in direction))
    if norm == 0:
        raise RenderError("a direction cannot be the zero vector")
    unit = [v / norm for v in direction]
    order = sorted(range(3), key=lambda axis: -abs(unit[axis]))
    letters = [
        _AXIS_LETTERS[axis][0 if unit[axis] > 0 else 1]
        for rank, axis in enumerate(order)
        if rank == 0 or abs(unit[axis]) >= OBLIQUE_COMPONENT
    ]
    return "".join(letters)


def orientation_letters(image_orientation: Sequence[float]) -> EdgeLetters:
    """Edge letters of an image from its ImageOrientationPatient (PS3.3 C.7.6.2.1.1).

    The right edge is where the row direction points and the bottom edge where the column
    direction points; left and top are their opposites. An axial slice in the usual
    orientation (1, 0, 0, 0, 1, 0) gives A at the top, P at the bottom, R on the left and L on
    the right (the patient seen from the feet).
    """
    if len(image_orientation) != 6:
        raise RenderError(
            f"ImageOrientationPatient needs 6 values, got {len(image_orientation)}"
        )
    row = [float(v) for v in image_orientation[:3]]
    column = [float(v) for v in image_orientation[3:]]
    return EdgeLetters(
        top=direction_letters([-v for v in column]),
        bottom=direction_letters(column),
        left=direction_letters([-v for v in row]),
        right=direction_letters(row),
    )
