"""Is this container a readable image, and of what type? (no Django imports)

The type comes from the bytes (magic numbers), never from the file name, and
an image only passes when Pillow decodes all of it: a truncated JPEG opens fine
and fails only when its pixels are read.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image
from PIL import UnidentifiedImageError

# Pillow's own guard against decompression bombs (~89 megapixels warns, twice
# that refuses). Clinical photos are far below it.
MAX_PIXELS = 90_000_000


@dataclass(frozen=True)
class ImageType:
    content_type: str
    extension: str
    decodable: bool = True  # False: recognised, but Pillow cannot decode it here


JPEG = ImageType("image/jpeg", "jpg")
PNG = ImageType("image/png", "png")
GIF = ImageType("image/gif", "gif")
TIFF = ImageType("image/tiff", "tif")
WEBP = ImageType("image/webp", "webp")
BMP = ImageType("image/bmp", "bmp")
HEIC = ImageType("image/heic", "heic", decodable=False)


@dataclass(frozen=True)
class ImageInfo:
    type: ImageType
    width: int | None
    height: int | None


class InvalidImageError(ValueError):
    """The bytes are not a usable image; `reason` is a short code for reports."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def sniff(head: bytes) -> ImageType | None:
    """The image type from the first bytes of a file, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:2] == b"BM":
        return BMP
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return HEIC
    return None


def inspect_image(stream: BinaryIO) -> ImageInfo:
    """Check that `stream` holds a whole, decodable image; return its type and size."""
    info, _pixels = decode_image(stream)
    return info


def decode_image(
    stream: BinaryIO,
    *,
    long_side: int | None = None,
    admit: Callable[[Image.Image], None] | None = None,
) -> tuple[ImageInfo, Image.Image | None]:
    """Check `stream` as `inspect_image` does, and keep the decoded pixels.

    A JPEG is decoded at a reduced scale: the smallest of 1/8, 1/4, 1/2 or
    full size that keeps at least `long_side` pixels on its long side (1/8
    without it).
    Every byte of its entropy-coded data is read at any scale, so truncation
    is caught, and one decode serves both the check and the gallery's
    derivatives. The pixels are None for a type Pillow cannot decode here.
    Drop them rather than close() them: for some formats (PNG) Pillow's
    close() would close `stream` as well.
    `admit` is called with the opened image just before its pixels are
    decoded: decode_budget's admitter reserves them there (or refuses).
    """
    stream.seek(0)
    head = stream.read(32)
    if not head:
        raise InvalidImageError("empty", "the container is empty (0 bytes)")
    kind = sniff(head)
    if kind is None:
        raise InvalidImageError(
            "not_an_image", "the bytes are not a known image format"
        )
    stream.seek(0)
    if not kind.decodable:
        return ImageInfo(type=kind, width=None, height=None), None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Leaving the `with` leaves `stream` open (it is the caller's).
            with Image.open(stream) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise InvalidImageError(
                        "decompression_bomb",
                        f"{width}x{height} pixels is implausibly large",
                    )
                if kind is JPEG:
                    scale = min(1.0, (long_side or 0) / max(width, height, 1))
                    scale = max(scale, 1 / 8)
                    img.draft(
                        "RGB",
                        (max(1, int(width * scale)), max(1, int(height * scale))),
                    )
                if admit is not None:
                    admit(img)
                img.load()
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError(
            "not_an_image", "Pillow cannot identify the image"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageError(
            "truncated_or_corrupt", f"the image does not decode: {exc}"
        ) from exc
    finally:
        stream.seek(0)
    return ImageInfo(type=kind, width=width, height=height), img
