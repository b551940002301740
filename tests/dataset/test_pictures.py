from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from filemaker_migration.dataset.pictures import THUMBNAIL_MAX_BYTES
from filemaker_migration.dataset.pictures import make_pool
from filemaker_migration.dataset.pictures import stamp


@pytest.fixture(scope="module")
def jpeg_pool():
    return make_pool(random.Random(1), 8, "JPEG")


@pytest.fixture(scope="module")
def png_pool():
    return make_pool(random.Random(1), 2, "PNG")


def _load(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_stamp_jpeg_adds_comment_and_stays_decodable(jpeg_pool):
    original = jpeg_pool[0].sizes[0]
    stamped = stamp(original.data, "JPEG", b"ABC/image_Full")
    assert stamped != original.data
    assert stamped.startswith(b"\xff\xd8\xff")
    img = _load(stamped)
    assert img.format == "JPEG"
    assert img.size == (original.width, original.height)
    assert img.info["comment"] == b"ABC/image_Full"
    # The JFIF header stays where tools look for it.
    assert stamped[6:10] == b"JFIF"


def test_stamp_png_adds_text_chunk_with_valid_crc(png_pool):
    original = png_pool[0].sizes[4]
    stamped = stamp(original.data, "PNG", b"ABC/image_small")
    img = _load(stamped)
    assert img.format == "PNG"
    assert img.info["Comment"] == "ABC/image_small"
    # The chunk right after IHDR, checked by hand rather than through Pillow.
    at = 8 + 25
    (length,) = struct.unpack(">I", stamped[at : at + 4])
    body = stamped[at + 4 : at + 8 + length]
    (crc,) = struct.unpack(">I", stamped[at + 8 + length : at + 12 + length])
    assert body.startswith(b"tEXt")
    assert zlib.crc32(body) & 0xFFFFFFFF == crc


def test_stamp_rejects_bytes_of_another_format(jpeg_pool):
    with pytest.raises(ValueError, match="PNG"):
        stamp(jpeg_pool[0].sizes[0].data, "PNG", b"x")
    with pytest.raises(ValueError, match="JPEG"):
        stamp(b"%PDF-1.4", "JPEG", b"x")


def test_make_pool_sizes_shrink_from_full_to_small(jpeg_pool, png_pool):
    for picture in (*jpeg_pool, *png_pool):
        widths = [e.width for e in picture.sizes]
        heights = [e.height for e in picture.sizes]
        assert widths == sorted(widths, reverse=True)
        assert len(set(widths)) == 5
        assert heights == sorted(heights, reverse=True)
        assert len(picture.sizes[0].data) > len(picture.sizes[4].data)
        assert max(picture.sizes[0].width, picture.sizes[0].height) <= 1600
        assert picture.thumbnail.format == "JPEG"
        assert 4_000 <= len(picture.thumbnail.data) <= THUMBNAIL_MAX_BYTES


def test_make_pool_full_sizes_span_30kb_to_2mb(jpeg_pool):
    sizes = [p.full_size for p in jpeg_pool]
    assert sizes == sorted(sizes)
    assert sizes[0] < 60_000
    assert sizes[-1] > 1_000_000
    assert sizes[-1] < 2_300_000


def test_make_pool_same_seed_same_bytes():
    first = make_pool(random.Random(9), 2, "JPEG")
    again = make_pool(random.Random(9), 2, "JPEG")
    other = make_pool(random.Random(10), 2, "JPEG")
    assert [p.sizes[0].data for p in first] == [p.sizes[0].data for p in again]
    assert [p.sizes[0].data for p in first] != [p.sizes[0].data for p in other]
