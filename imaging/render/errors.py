"""Errors of key-image rendering, under the imaging package's root :class:`ImagingError`."""

from __future__ import annotations

from imaging.errors import ImagingError


class RenderError(ImagingError):
    """An image cannot be rendered as asked (no pixel spacing, a frame out of range, a bad window).

    ``sop_instance_uid`` names the image, when there is one, so that a report can say which
    image it could not show instead of failing as a whole.
    """

    def __init__(self, message: str, *, sop_instance_uid: str | None = None) -> None:
        super().__init__(message)
        self.sop_instance_uid = sop_instance_uid


class ImageDecodeError(RenderError):
    """The pixel data of an image cannot be decoded.

    Carries the image's SOP Instance UID and the Transfer Syntax UID it came in (PS3.5
    section 10 and Annex A), since the usual cause is a compression nobody installed a decoder
    for, or a damaged encapsulated fragment.
    """

    def __init__(
        self, *, sop_instance_uid: str, transfer_syntax_uid: str, transfer_syntax_name: str,
        reason: str,
    ) -> None:
        super().__init__(
            f"cannot decode the pixel data of SOP Instance {sop_instance_uid or '(no UID)'} "
            f"in transfer syntax {transfer_syntax_name} ({transfer_syntax_uid or 'unknown'}): "
            f"{reason}",
            sop_instance_uid=sop_instance_uid,
        )
        self.transfer_syntax_uid = transfer_syntax_uid
        self.transfer_syntax_name = transfer_syntax_name
        self.reason = reason
