"""Synthetic clinic photos: a small pool of encoded pictures, made unique cheaply.

Encoding thousands of photos would take minutes, so a run draws a few dozen
pictures once, encodes each at the five container sizes plus the thumbnail,
and gives every container file unique bytes by inserting a comment (a JPEG
COM segment or a PNG tEXt chunk) that names the record and field. Both
insertions leave the file fully decodable.

Everything is drawn from the caller's `random.Random`, never from Pillow's
`effect_noise` (C `rand()`, not seedable), so the same seed gives the same
bytes.
"""

from __future__ import annotations

import io
import math
import random
import struct
import zlib
from dataclasses import dataclass

from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter

# Long side of each container size relative to image_Full, best first.
SIZE_FACTORS = (1.0, 0.75, 0.55, 0.35, 0.2)
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
KINDS = ("foot", "shoe", "box", "brannock")
THUMBNAIL_MAX_BYTES = 45_000


@dataclass(frozen=True)
class Encoded:
    """One encoded picture: bytes shared by many files until stamped."""

    data: bytes
    width: int
    height: int
    format: str  # "JPEG" | "PNG"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class Picture:
    """One scene at the five container sizes (best first) and as a thumbnail."""

    sizes: tuple[Encoded, ...]
    thumbnail: Encoded

    @property
    def full_size(self) -> int:
        return len(self.sizes[0].data)


def make_pool(rng: random.Random, count: int, fmt: str = "JPEG") -> list[Picture]:
    """Draw `count` pictures whose image_Full sizes span ~30 KB to ~2 MB.

    Returned sorted by image_Full size so callers can pick by target size.
    """
    pool = []
    for i in range(count):
        # t spreads the pool from small, clean, low-quality photos to large,
        # grainy, high-quality ones: that is what spans the byte sizes.
        t = i / (count - 1) if count > 1 else 0.5
        if fmt == "PNG":
            # Photos as PNG are big (noise does not compress): keep them small.
            long_side = round(420 + 480 * t)
            fine, coarse, quality = 0.004 + 0.03 * t, 0.08, 0
        else:
            long_side = round(700 + 900 * t)
            fine = 0.02 + 0.34 * t**2
            coarse, quality = 0.12 + 0.1 * t, round(72 + 25 * t)
        pool.append(_picture(rng, long_side, fine, coarse, quality, fmt))
    pool.sort(key=lambda p: p.full_size)
    return pool


def stamp(data: bytes, fmt: str, label: bytes) -> bytes:
    """Return `data` with `label` embedded as metadata: unique, still decodable."""
    if fmt == "JPEG":
        return _jpeg_with_comment(data, label)
    if fmt == "PNG":
        return _png_with_text(data, b"Comment", label)
    raise ValueError(f"cannot stamp format {fmt!r}")


def _jpeg_with_comment(data: bytes, comment: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    # After the JFIF APP0 segment when there is one, so tools that look for
    # "JFIF" at offset 6 still recognise the file.
    at = 2
    if data[2:4] == b"\xff\xe0":
        at = 4 + int.from_bytes(data[4:6], "big")
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:at] + segment + data[at:]


def _png_with_text(data: bytes, keyword: bytes, text: bytes) -> bytes:
    # Signature (8 bytes) then IHDR: length 4 + type 4 + data 13 + CRC 4.
    at = 8 + 25
    if data[12:16] != b"IHDR":
        raise ValueError("not a PNG (IHDR is not the first chunk)")
    body = b"tEXt" + keyword + b"\x00" + text
    chunk = (
        struct.pack(">I", len(body) - 4)
        + body
        + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    )
    return data[:at] + chunk + data[at:]


def _picture(
    rng: random.Random,
    long_side: int,
    fine: float,
    coarse: float,
    quality: int,
    fmt: str,
) -> Picture:
    portrait = rng.random() < 0.4
    short_side = long_side * 3 // 4
    w, h = (short_side, long_side) if portrait else (long_side, short_side)
    img = _draw(rng, w, h, rng.choice(KINDS), fine, coarse)
    sizes = []
    for factor in SIZE_FACTORS:
        size = (max(8, round(w * factor)), max(8, round(h * factor)))
        scaled = img if factor == 1.0 else img.resize(size, Image.Resampling.LANCZOS)
        # Smaller sizes are re-encoded at a modest quality, as FileMaker's
        # resize scripts would; never above the original's.
        q = quality if factor == 1.0 else min(quality, 88)
        sizes.append(_encode(scaled, fmt, q))
    return Picture(tuple(sizes), _thumbnail(rng, img))


def _thumbnail(rng: random.Random, img: Image.Image) -> Encoded:
    """FileMaker's Recovered thumbnail: a small JPEG, ~5-45 KB."""
    long_side = rng.randrange(240, 560)
    thumb = img.copy()
    thumb.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    quality = rng.randrange(60, 95)
    encoded = _encode(thumb, "JPEG", quality)
    # Grainy photos encode big; step the quality down to stay in range.
    while len(encoded.data) > THUMBNAIL_MAX_BYTES and quality > 30:
        quality -= 10
        encoded = _encode(thumb, "JPEG", quality)
    return encoded


def _encode(img: Image.Image, fmt: str, quality: int) -> Encoded:
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, "PNG", compress_level=6)
    else:
        img.save(buf, "JPEG", quality=quality)
    return Encoded(buf.getvalue(), img.width, img.height, fmt)


def _draw(
    rng: random.Random, w: int, h: int, kind: str, fine: float, coarse: float
) -> Image.Image:
    """A floor, the subject, then blotchy and fine grain like a phone photo."""
    top = tuple(rng.randrange(130, 235) for _ in range(3))
    bottom = tuple(max(0, c - rng.randrange(40, 90)) for c in top)
    img = Image.composite(
        Image.new("RGB", (w, h), top),
        Image.new("RGB", (w, h), bottom),
        Image.linear_gradient("L").resize((w, h)),
    )
    d = ImageDraw.Draw(img)
    for _ in range(250):  # floor speckle: detail that survives downscaling
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randrange(2, max(3, min(w, h) // 50))
        shade = rng.randrange(-45, 45)
        d.ellipse(
            (x - r, y - r, x + r, y + r),
            fill=tuple(min(255, max(0, c + shade)) for c in bottom),
        )
    _subject(d, rng, w, h, kind)
    img = img.filter(ImageFilter.GaussianBlur(max(w, h) / 500))
    img = Image.blend(img, _noise(rng, w, h, 16), coarse)
    return Image.blend(img, _noise(rng, w, h, 1), fine)


def _subject(
    d: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int, kind: str
) -> None:
    cx, cy, s = w // 2, h // 2, min(w, h)
    if kind == "foot":
        skin = (
            rng.randrange(170, 240),
            rng.randrange(120, 190),
            rng.randrange(90, 160),
        )
        d.ellipse((cx - s // 5, cy - s // 3, cx + s // 5, cy + s // 2.4), fill=skin)
        for i in range(5):
            r = s // (18 + 3 * i)
            angle = math.pi * (0.2 + 0.15 * i)
            x = cx - int(math.cos(angle) * s / 6)
            y = cy - s // 3 - int(math.sin(angle) * s / 12)
            d.ellipse((x - r, y - r, x + r, y + r), fill=skin)
    elif kind == "shoe":
        body = _colour(rng, 20, 120)
        d.rounded_rectangle(
            (cx - s // 2.5, cy - s // 6, cx + s // 2.5, cy + s // 5), s // 8, fill=body
        )
        for i in range(12):  # tread
            x = cx - s // 3 + i * s // 18
            d.line(
                (x, cy + s // 8, x + s // 40, cy + s // 5), fill=(30, 30, 30), width=3
            )
    elif kind == "box":
        d.rectangle(
            (cx - s // 2.6, cy - s // 4, cx + s // 2.6, cy + s // 4),
            fill=_colour(rng, 120, 230),
        )
        d.rectangle(
            (cx - s // 2.6, cy - s // 4, cx + s // 2.6, cy - s // 6),
            fill=_colour(rng, 60, 160),
        )
        d.rectangle(
            (cx - s // 8, cy - s // 12, cx + s // 8, cy + s // 12), fill=(245, 245, 240)
        )
    else:  # Brannock device: a metal plate with a ruler
        d.rectangle(
            (cx - s // 5, cy - s // 2.2, cx + s // 5, cy + s // 2.2),
            fill=(150, 155, 160),
        )
        for i in range(30):
            tick = cy - s // 2.3 + i * s // 34
            d.line((cx - s // 5, tick, cx - s // 7, tick), fill=(20, 20, 20), width=2)


def _noise(rng: random.Random, w: int, h: int, cell: int) -> Image.Image:
    sw, sh = max(2, w // cell), max(2, h // cell)
    grain = Image.frombytes("RGB", (sw, sh), rng.randbytes(sw * sh * 3))
    return grain if cell == 1 else grain.resize((w, h), Image.Resampling.BICUBIC)


def _colour(rng: random.Random, lo: int, hi: int) -> tuple[int, int, int]:
    return (rng.randrange(lo, hi), rng.randrange(lo, hi), rng.randrange(lo, hi))
