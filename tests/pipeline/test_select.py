"""One decode serves both the check of a container and the gallery's JPEGs."""

from __future__ import annotations

import io
import tempfile

import pytest
from PIL import ExifTags
from PIL import Image

from filemaker_migration.derivatives import DISPLAY_PX
from filemaker_migration.derivatives import THUMBNAIL_PX
from filemaker_migration.derivatives import derivatives_for
from filemaker_migration.imagecheck import decode_image
from filemaker_migration.imagecheck import inspect_image
from filemaker_migration.pipeline.select import check_body
from tests.images.test_derivatives import encode
from tests.images.test_derivatives import is_blue
from tests.images.test_derivatives import is_red
from tests.images.test_derivatives import top_half_red


def spooled(data: bytes) -> tempfile.SpooledTemporaryFile:
    body = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
    body.write(data)
    body.seek(0)
    return body


@pytest.mark.parametrize(
    ("long_side", "decoded"),
    [(None, (500, 375)), (THUMBNAIL_PX, (500, 375)), (DISPLAY_PX, (2000, 1500))],
)
def test_a_jpeg_is_decoded_at_the_smallest_scale_that_serves(long_side, decoded):
    data = encode(top_half_red(4000, 3000), "JPEG").getvalue()
    info, pixels = decode_image(io.BytesIO(data), long_side=long_side)
    assert (info.width, info.height) == (4000, 3000)  # the original's size
    assert pixels.size == decoded


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_callers_stream_stays_open_and_whole(fmt):
    data = encode(top_half_red(900, 600).convert("RGB"), fmt).getvalue()
    body = spooled(data)
    checked = spooled(data)
    inspect_image(body)
    check_body(checked, for_gallery=True)
    checked.seek(0)
    body.seek(0)
    # The original is stored after its derivatives are made: still all there.
    assert checked.read() == data
    assert body.read() == data
    checked.close()
    body.close()


def test_derivatives_from_the_check_match_those_made_from_the_original():
    cases = {
        "large jpeg": encode(top_half_red(4000, 3000), "JPEG"),
        "display-ready jpeg": encode(top_half_red(1000, 750), "JPEG"),
        "png": encode(top_half_red(500, 300).convert("RGBA"), "PNG"),
    }
    for name, original in cases.items():
        data = original.getvalue()
        _info, made = check_body(io.BytesIO(data), for_gallery=True)
        expected = derivatives_for(io.BytesIO(data))
        assert (made.thumbnail.width, made.thumbnail.height) == (
            expected.thumbnail.width,
            expected.thumbnail.height,
        ), name
        assert (made.display is None) == (expected.display is None), name
        if made.display is not None:
            assert (made.display.width, made.display.height) == (
                expected.display.width,
                expected.display.height,
            ), name


def test_orientation_is_applied_from_the_checks_decode():
    stored = top_half_red(600, 800).rotate(90, expand=True)  # 800 x 600, red left
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    original = encode(stored, "JPEG", exif=exif.tobytes())
    _info, made = check_body(original, for_gallery=True)
    display = made.display
    assert (display.width, display.height) == (600, 800)
    with Image.open(io.BytesIO(display.data)) as shown:
        assert is_red(shown.getpixel((300, 50)))
        assert is_blue(shown.getpixel((300, 750)))
