"""A rendered key image as pixels, encoded to PNG or JPEG when first asked for.

Rendering a key image and encoding it are separate costs: a 384 px RGB crop takes about
5.6 ms to encode as PNG (Pillow tries every row filter) and 0.6 ms as JPEG, on this machine.
The JSON and HTML reports need PNG, the PDF needs JPEG. Encoding both at render time, or PNG
first and JPEG from the decoded PNG, spent most of a PDF's key-image time on an encoding it
never used. A :class:`Picture` keeps the pixels and each encoding made of them, so that each
format is encoded at most once, and only when a report asks for it.

Encodings are deterministic functions of the pixels: two threads asking at once may both
encode, and either result is the same bytes.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from imaging.render.errors import RenderError

# zlib level 1: a key image compresses to nearly the same size as at level 6 (most of it is
# smooth anatomy or black air) at a fraction of the time.
PNG_COMPRESS_LEVEL = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Picture:
    """An 8-bit RGB image, immutable, with its PNG and JPEG encodings made on demand."""

    __slots__ = ("_digest", "_jpeg", "_png", "_rgb", "_size")

    def __init__(self, image: Image.Image) -> None:
        if image.mode != "RGB":
            raise RenderError(f"a Picture is 8-bit RGB, got mode {image.mode!r}")
        width, height = image.size
        if width < 1 or height < 1:
            raise RenderError(f"a Picture needs at least one pixel, got {width}x{height}")
        self._size: tuple[int, int] = (width, height)
        self._rgb: bytes = image.tobytes()
        self._png: bytes | None = None
        self._jpeg: dict[int, bytes] = {}
        self._digest: bytes | None = None

    @classmethod
    def from_png(cls, png: bytes) -> Picture:
        """The picture a PNG holds (converted to RGB); its PNG is these very bytes."""
        if not isinstance(png, bytes) or not png.startswith(PNG_SIGNATURE):
            raise RenderError("Picture.from_png needs PNG data (it does not start with the "
                              "signature)")
        try:
            with Image.open(io.BytesIO(png)) as image:
                picture = cls(image.convert("RGB"))
        except (OSError, ValueError) as exc:
            raise RenderError(f"the PNG cannot be decoded: {exc}") from exc
        picture._png = png
        return picture

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes of pixels held (the encodings made so far come on top)."""
        return len(self._rgb)

    def image(self) -> Image.Image:
        """A new Pillow image of the pixels (changing it does not change the picture)."""
        return Image.frombytes("RGB", self._size, self._rgb)

    def png(self) -> bytes:
        """The picture as PNG (zlib level :data:`PNG_COMPRESS_LEVEL`)."""
        if self._png is None:
            buffer = io.BytesIO()
            self.image().save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
            self._png = buffer.getvalue()
        return self._png

    def has_png(self) -> bool:
        """Whether :meth:`png` has been made (and so costs nothing now)."""
        return self._png is not None

    def has_jpeg(self, quality: int) -> bool:
        """Whether :meth:`jpeg` at ``quality`` has been made."""
        return quality in self._jpeg

    def jpeg(self, quality: int) -> bytes:
        """The picture as baseline JPEG at ``quality`` (1-95), without chroma subsampling
        (4:4:4): the yellow caliper and the cyan frame keep sharp edges."""
        if not 1 <= quality <= 95:
            raise RenderError(f"JPEG quality must be in 1..95, got {quality}")
        found = self._jpeg.get(quality)
        if found is None:
            buffer = io.BytesIO()
            self.image().save(buffer, format="JPEG", quality=quality, subsampling=0)
            found = self._jpeg[quality] = buffer.getvalue()
        return found

    def digest(self) -> bytes:
        """A digest of the size and the pixels: equal pictures, equal digests."""
        if self._digest is None:
            h = hashlib.blake2b(b"%dx%d:" % self._size, digest_size=20)
            h.update(self._rgb)
            self._digest = h.digest()
        return self._digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Picture):
            return NotImplemented
        return self is other or (self._size == other._size and self._rgb == other._rgb)

    def __hash__(self) -> int:
        return hash(self.digest())

    def __repr__(self) -> str:
        return f"Picture({self._size[0]}x{self._size[1]})"
