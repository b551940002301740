"""Derivatives: upright, metadata-free RGB JPEGs of the right size, for any input."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags
from PIL import Image
from PIL import TiffImagePlugin
from PIL import UnidentifiedImageError

from filemaker_migration.derivatives import make_derivatives
from filemaker_migration.keys import derivative_keys


def encode(image: Image.Image, fmt: str, **params) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    out.seek(0)
    return out


def top_half_red(width: int, height: int) -> Image.Image:
    """Red on top, blue below: easy to tell which way up a derivative is."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width, height // 2))
    return image


def is_red(pixel) -> bool:
    r, g, b = pixel
    return r > 200 and g < 60 and b < 60


def is_blue(pixel) -> bool:
    r, g, b = pixel
    return b > 200 and r < 60 and g < 60


def test_derivatives_are_jpegs_fitted_to_their_boxes():
    made = make_derivatives(encode(top_half_red(4000, 3000), "JPEG"))

    assert (made.display.width, made.display.height) == (1600, 1200)
    assert (made.thumbnail.width, made.thumbnail.height) == (300, 225)
    for derivative in (made.display, made.thumbnail):
        with Image.open(io.BytesIO(derivative.data)) as decoded:
            assert decoded.format == "JPEG"
            assert decoded.mode == "RGB"
            assert decoded.size == (derivative.width, derivative.height)
        assert derivative.content_type == "image/jpeg"


def test_small_originals_are_never_upscaled():
    made = make_derivatives(encode(top_half_red(200, 120), "JPEG"))

    assert (made.display.width, made.display.height) == (200, 120)
    assert (made.thumbnail.width, made.thumbnail.height) == (200, 120)


def test_exif_orientation_is_applied_to_the_pixels():
    # Stored sideways (red on the left) with Orientation 6 ("rotate 90° CW to
    # view"): the viewer should see red on top and a portrait picture.
    stored = top_half_red(600, 800).rotate(90, expand=True)  # 800 x 600, red left
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    made = make_derivatives(encode(stored, "JPEG", exif=exif.tobytes()))

    assert (made.display.width, made.display.height) == (600, 800)
    with Image.open(io.BytesIO(made.display.data)) as shown:
        assert is_red(shown.getpixel((300, 50)))
        assert is_blue(shown.getpixel((300, 750)))
        assert ExifTags.Base.Orientation not in shown.getexif()


def test_gps_and_device_metadata_are_stripped():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456"
    exif[ExifTags.Base.DateTimeOriginal] = "2021:03:04 10:11:12"
    gps = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (
            TiffImagePlugin.IFDRational(33),
            TiffImagePlugin.IFDRational(52),
            TiffImagePlugin.IFDRational(0),
        ),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (
            TiffImagePlugin.IFDRational(151),
            TiffImagePlugin.IFDRational(12),
            TiffImagePlugin.IFDRational(0),
        ),
    }
    exif[ExifTags.IFD.GPSInfo] = gps
    original = encode(top_half_red(1000, 800), "JPEG", exif=exif.tobytes())
    with Image.open(original) as check:
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's premise
    original.seek(0)

    made = make_derivatives(original)

    for derivative in (made.display, made.thumbnail):
        assert b"Exif" not in derivative.data
        assert b"PhoneMaker" not in derivative.data
        assert b"SN-123456" not in derivative.data
        with Image.open(io.BytesIO(derivative.data)) as shown:
            assert len(shown.getexif()) == 0
            assert not shown.getexif().get_ifd(ExifTags.IFD.GPSInfo)
            assert "exif" not in shown.info
            assert "icc_profile" not in shown.info


def test_png_with_alpha_is_flattened_on_white():
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))  # fully transparent
    image.paste((255, 0, 0, 255), (0, 0, 400, 200))
    made = make_derivatives(encode(image, "PNG"))

    with Image.open(io.BytesIO(made.display.data)) as shown:
        assert shown.mode == "RGB"
        assert is_red(shown.getpixel((200, 50)))
        assert min(shown.getpixel((200, 350))) > 240  # white, not black


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("RGB", "TIFF"),
        ("CMYK", "TIFF"),
        ("I;16", "TIFF"),
        ("L", "PNG"),
        ("P", "GIF"),
        ("RGB", "WEBP"),
        ("RGB", "BMP"),
    ],
)
def test_any_input_becomes_an_rgb_jpeg(mode, fmt):
    image = top_half_red(500, 300).convert("L" if mode == "I;16" else mode)
    if mode == "I;16":
        image = image.convert("I").point(lambda v: v * 256).convert("I;16")
    made = make_derivatives(encode(image, fmt))

    with Image.open(io.BytesIO(made.thumbnail.data)) as shown:
        assert (shown.format, shown.mode, shown.size) == ("JPEG", "RGB", (300, 180))


def test_non_images_are_refused():
    with pytest.raises(UnidentifiedImageError):
        make_derivatives(io.BytesIO(b"not an image at all"))


def test_derivative_keys_sit_beside_the_original():
    key = "patients/filemaker-import/images/P/2016-10-18/ABC.png"
    assert derivative_keys(key) == (
        "patients/filemaker-import/images/P/2016-10-18/ABC.thumb.jpg",
        "patients/filemaker-import/images/P/2016-10-18/ABC.display.jpg",
    )


def test_derivative_keys_need_a_key():
    with pytest.raises(ValueError, match="key"):
        derivative_keys("")


def test_jpegs_are_encoded_into_a_file_the_encoder_can_write_to_directly(
    monkeypatch,
):
    # Pillow encodes without holding the interpreter lock only when it is
    # given a file descriptor; into a BytesIO the 16 workers' thumbnails
    # would be made one at a time. Spy on save to see what it is given.
    original = encode(top_half_red(4000, 3000), "PNG")
    handed: list[int] = []
    real_save = Image.Image.save

    def spy(self, fp, *args, **kwargs):
        handed.append(fp.fileno())  # io.UnsupportedOperation for a BytesIO
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", spy)
    made = make_derivatives(original)

    assert len(handed) == 2  # display and thumbnail
    with Image.open(io.BytesIO(made.thumbnail.data)) as decoded:
        assert decoded.format == "JPEG"
