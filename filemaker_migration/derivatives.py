"""Display-size and thumbnail JPEGs made from an original (no S3, no Django).

The original stays untouched in S3 as the clinical evidence; derivatives are
what the gallery shows and what may leave the clinic's record, so they are
turned the right way up (EXIF orientation applied to the pixels) and carry no
metadata at all: no EXIF, GPS, device serial numbers or capture times.
Whatever the original's format (JPEG, PNG with alpha, TIFF, palette GIF...),
the derivatives are baseline RGB JPEGs that every browser shows.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image
from PIL import ImageOps

from filemaker_migration import decode_budget

THUMBNAIL_PX = 300
DISPLAY_PX = 1600
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"


@dataclass(frozen=True)
class Derivative:
    data: bytes
    width: int
    height: int
    content_type: str = CONTENT_TYPE


@dataclass(frozen=True)
class Derivatives:
    thumbnail: Derivative
    display: Derivative | None  # None: the original serves as the display image


def display_ready(original: BinaryIO, *, display_px: int = DISPLAY_PX) -> bool:
    """Can the original itself be the display image?

    Yes for a JPEG no larger than the display size that carries no metadata
    segment at all (no EXIF, so no GPS, device serial or orientation to apply;
    no XMP; no IPTC): re-encoding it would only lose quality and time.
    """
    original.seek(0)
    try:
        with Image.open(original) as opened:
            if opened.format != "JPEG" or max(opened.size) > display_px:
                return False
            markers = {marker for marker, _ in getattr(opened, "applist", [])}
            return not markers & {"APP1", "APP13"} and "exif" not in opened.info
    except Exception:  # hostile bytes raise many kinds
        # Not even its header reads: it cannot be the display image (and the
        # decode that follows names what is wrong with it).
        return False
    finally:
        original.seek(0)


def derivatives_for(original: BinaryIO) -> Derivatives:
    """The gallery's JPEGs of `original`: a display image only when it needs one."""
    return make_derivatives(original, include_display=not display_ready(original))


def make_derivatives(
    original: BinaryIO,
    *,
    thumbnail_px: int = THUMBNAIL_PX,
    display_px: int = DISPLAY_PX,
    include_display: bool = True,
) -> Derivatives:
    """A thumbnail and a display image, each fitted in a square box, never upscaled.

    With `include_display=False` only the thumbnail is made, from a JPEG
    decoded at a reduced scale (a fraction of the work of a full decode).

    Raises PIL.UnidentifiedImageError (or OSError) when the bytes are not an
    image Pillow can decode; the import only keeps originals that decode.
    """
    original.seek(0)
    box = display_px if include_display else thumbnail_px
    with Image.open(original) as opened:
        _draft_for(opened, box)
        # An original the check accepted already: over the budget it is
        # decoded alone rather than refused (its gallery JPEGs are owed).
        with decode_budget.shared().admit(opened, box=box, pass_over=False):
            opened.load()
            return derivatives_of(
                opened,
                thumbnail_px=thumbnail_px,
                display_px=display_px,
                include_display=include_display,
            )


def derivatives_of(
    decoded: Image.Image,
    *,
    thumbnail_px: int = THUMBNAIL_PX,
    display_px: int = DISPLAY_PX,
    include_display: bool = True,
) -> Derivatives:
    """The derivatives of an image already decoded (at a reduced scale or not).

    Whether a display image is wanted is the caller's to say (`display_ready`
    of the original): a reduced decode no longer shows the original's size.
    """
    # Shrunk first, then turned upright and flattened: those steps copy the
    # picture, and a copy of a shrunk one is small. `decoded` itself is never
    # copied at full size except to leave a palette (see decode_budget's costs).
    small = _shrunk(decoded, display_px if include_display else thumbnail_px)
    rgb = _flatten_to_rgb(ImageOps.exif_transpose(small))
    display = rgb if include_display else None  # fits the display box already
    thumbnail = _fitted(rgb, thumbnail_px)
    return Derivatives(
        thumbnail=_jpeg(thumbnail), display=_jpeg(display) if display else None
    )


def _draft_for(image: Image.Image, long_side: int) -> None:
    # A JPEG can be decoded at 1/2, 1/4 or 1/8 scale for a fraction of the
    # work; ask for the smallest scale still at least as big as the display
    # image (draft never goes below the requested size).
    width, height = image.size
    scale = long_side / max(width, height)
    if image.format == "JPEG" and scale < 1:
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale (TIFF): scale to 8 bits before converting.
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        # A transparent background becomes white, as on paper, not black.
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _shrunk(image: Image.Image, box: int) -> Image.Image:
    """`image` fitted in a square box (itself when it fits), never copied at
    full size but to leave a palette or bilevel mode, which resampling would
    not average."""
    size = _fit(image.size, box)
    if size == image.size:
        return image
    if image.mode in ("P", "PA"):
        alpha = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    # Reduced by whole factors first (a box average, cheap) to no less than
    # the box, then resampled: the intermediate is at most twice the box a
    # side, where Pillow's thumbnail() default (2.0) could keep four times.
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0)


def _fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    """The size Image.thumbnail((box, box)) gives, computed without an image."""
    width, height = size
    if width <= box and height <= box:
        return size
    aspect = width / height

    def nearest(number: float, error: Callable[[int], float]) -> int:
        return max(min(math.floor(number), math.ceil(number), key=error), 1)

    if aspect <= 1:
        return nearest(box * aspect, lambda n: abs(aspect - n / box)), box
    return box, nearest(box / aspect, lambda n: abs(aspect - box / n) if n else 0)


def _fitted(image: Image.Image, box: int) -> Image.Image:
    # Bicubic, Pillow's own choice for thumbnails: antialiased when shrinking,
    # and at these sizes no visible difference from Lanczos, in two thirds of
    # its time; reduced first as thumbnail() does (gap 2.0).
    size = _fit(image.size, box)
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _jpeg(image: Image.Image) -> Derivative:
    # A fresh image holds no info dict (EXIF, ICC, XMP, comments): nothing but
    # pixels is written.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    # Into a real file, not a BytesIO: Pillow lets go of the interpreter lock
    # while it encodes to a file descriptor, and holds it while it encodes
    # into a Python object, so with 16 workers a BytesIO would make every
    # thumbnail wait for the others. The bytes are the same either way.
    with tempfile.TemporaryFile() as out:
        clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        out.seek(0)
        data = out.read()
    return Derivative(data=data, width=clean.width, height=clean.height)
