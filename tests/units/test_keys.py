"""The S3 key grammar (filemaker_migration.keys): no database, no network."""

from __future__ import annotations

import contextlib
import datetime as dt
import string
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filemaker_migration import keys

PREFIX = "filemaker-images"
ID = "0F8FAD5B-D9CB-469F-A165-70867728950E"
PATIENT = "3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a"  # a UUID primary key as str
DAY = dt.date(2019, 3, 7)
# The image types a key may end with (the grammar's list, spelled out).
IMAGE_EXTENSIONS = ("bmp", "gif", "heic", "jpg", "png", "tif", "webp")


# -- canonical UUIDs ----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        ID,
        ID.lower(),
        "{" + ID + "}",
        "{" + ID.lower() + "}",
        ID.replace("-", ""),
        ID.lower().replace("-", ""),
        f"  {ID}\t",
    ],
)
def test_canonical_uuid_accepts_every_spelling_of_one_id(value):
    assert keys.canonical_uuid(value) == ID


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "not-a-uuid",
        ID[:-1],  # one digit short
        ID + "0",  # one digit long
        ID.replace("F", "G"),  # not hex
        ID.replace("-", "_"),
        f"urn:uuid:{ID}",
        None,
        42,
        uuid.UUID(ID),  # a UUID object is not FileMaker's text
    ],
)
def test_canonical_uuid_refuses_what_is_not_a_uuid(value):
    assert keys.canonical_uuid(value) is None


# -- type slugs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_type", "slug"),
    [
        ("Before Treatment", "before-treatment"),
        ("X-ray (left)!!", "x-ray-left"),
        ("  --Side  view--  ", "side-view"),
        ("Café Photo", "caf-photo"),  # non-ASCII letters are separators
        ("Ünïcödé", "n-c-d"),
        ("写真", "unknown-type"),
        ("!!!", "unknown-type"),
        ("", "unknown-type"),
        ("Intra-oral 2", "intra-oral-2"),
    ],
)
def test_type_slug(image_type, slug):
    assert keys.type_slug(image_type) == slug


def test_type_slug_of_200_characters_is_cut_to_64():
    assert keys.type_slug("a" * 200) == "a" * 64


def test_type_slug_cut_never_ends_with_a_dash():
    # The 64th character is a separator: cut, then stripped again.
    slug = keys.type_slug("a" * 63 + " " + "b" * 136)
    assert slug == "a" * 63


# -- linked keys and patient refs --------------------------------------------


def test_linked_key_with_a_date():
    assert (
        keys.linked_key(PREFIX, PATIENT, DAY, ID, "jpg")
        == f"{PREFIX}/{PATIENT}/2019-03-07/{ID}.jpg"
    )


def test_linked_key_without_a_date():
    assert (
        keys.linked_key(PREFIX, "1234", None, ID, "png")
        == f"{PREFIX}/1234/unknown-date/{ID}.png"
    )


@pytest.mark.parametrize("patient_ref", [PATIENT, PATIENT.upper(), "1", "987654321"])
def test_linked_folder_accepts_uuid_and_integer_refs(patient_ref):
    folder = keys.linked_folder(PREFIX, patient_ref, DAY)
    assert folder == f"{PREFIX}/{patient_ref}/2019-03-07"


@pytest.mark.parametrize(
    "patient_ref",
    ["..", "../other", "a/b", "/abs", "a b", " 12", "12 ", "", "-12", "a.b", "x" * 65],
)
def test_linked_folder_refuses_refs_that_are_not_plain_tokens(patient_ref):
    with pytest.raises(ValueError, match="plain reference"):
        keys.linked_folder(PREFIX, patient_ref, DAY)
    with pytest.raises(ValueError, match="plain reference"):
        keys.linked_key(PREFIX, patient_ref, DAY, ID, "jpg")


# -- unlinked keys ------------------------------------------------------------------


def test_unlinked_key_is_under_the_type_slug():
    assert (
        keys.unlinked_key(PREFIX, "Before Treatment", ID, "jpg")
        == f"{PREFIX}/unlinked/before-treatment/{ID}.jpg"
    )


def test_unlinked_key_of_an_empty_type():
    assert (
        keys.unlinked_key(PREFIX, "", ID, "heic")
        == f"{PREFIX}/unlinked/unknown-type/{ID}.heic"
    )


# -- ids and extensions refused ------------------------------------------------------


@pytest.mark.parametrize("filemaker_id", [ID.lower(), "{" + ID + "}", "", "../" + ID])
def test_keys_need_the_canonical_id(filemaker_id):
    with pytest.raises(ValueError, match="canonical"):
        keys.linked_key(PREFIX, PATIENT, DAY, filemaker_id, "jpg")
    with pytest.raises(ValueError, match="canonical"):
        keys.unlinked_key(PREFIX, "Type", filemaker_id, "jpg")


@pytest.mark.parametrize(
    "ext", ["", "JPG", "jpeg", "pdf", "exe", "jpg/../x", ".jpg", "jpg ", "thumb.jpg"]
)
def test_unexpected_extensions_are_refused(ext):
    with pytest.raises(ValueError, match="extension"):
        keys.linked_key(PREFIX, PATIENT, DAY, ID, ext)
    with pytest.raises(ValueError, match="extension"):
        keys.unlinked_key(PREFIX, "Type", ID, ext)


@pytest.mark.parametrize("ext", IMAGE_EXTENSIONS)
def test_every_image_extension_is_accepted(ext):
    assert keys.unlinked_key(PREFIX, "t", ID, ext).endswith(f"/{ID}.{ext}")


# -- versioned and relinked keys ---------------------------------------------------


def test_versioned_key_stays_in_the_current_folder():
    current = keys.linked_key(PREFIX, PATIENT, DAY, ID, "jpg")
    assert (
        keys.versioned_key(current, ID, 3, "png")
        == f"{PREFIX}/{PATIENT}/2019-03-07/{ID}.v3.png"
    )


def test_versioned_key_of_an_unlinked_image():
    current = keys.unlinked_key(PREFIX, "Smile", ID, "jpg")
    assert (
        keys.versioned_key(current, ID, 2, "jpg")
        == f"{PREFIX}/unlinked/smile/{ID}.v2.jpg"
    )


@pytest.mark.parametrize(
    ("filemaker_id", "ext"),
    [(ID.lower(), "jpg"), ("not-an-id", "jpg"), (ID, "j.pg"), (ID, "../x"), (ID, "")],
)
def test_versioned_key_refuses_bad_ids_and_extensions(filemaker_id, ext):
    with pytest.raises(ValueError, match="versioned key"):
        keys.versioned_key(f"{PREFIX}/1/unknown-date/{ID}.jpg", filemaker_id, 2, ext)


def test_relinked_key_moves_the_file_to_the_patients_folder():
    current = keys.unlinked_key(PREFIX, "Smile", ID, "jpg")
    assert (
        keys.relinked_key(current, PREFIX, "77", DAY, ID)
        == f"{PREFIX}/77/2019-03-07/{ID}.jpg"
    )


def test_relinked_key_keeps_a_version_suffix():
    current = keys.versioned_key(keys.unlinked_key(PREFIX, "", ID, "jpg"), ID, 2, "png")
    assert (
        keys.relinked_key(current, PREFIX, PATIENT, None, ID)
        == f"{PREFIX}/{PATIENT}/unknown-date/{ID}.v2.png"
    )


def test_relinked_key_refuses_a_key_of_another_record():
    other = str(uuid.UUID(int=1)).upper()
    current = keys.unlinked_key(PREFIX, "Smile", other, "jpg")
    with pytest.raises(ValueError, match="unexpected ledger key"):
        keys.relinked_key(current, PREFIX, PATIENT, DAY, ID)


def test_relinked_key_refuses_a_bad_patient_ref():
    current = keys.unlinked_key(PREFIX, "Smile", ID, "jpg")
    with pytest.raises(ValueError, match="plain reference"):
        keys.relinked_key(current, PREFIX, "../x", DAY, ID)


# -- derivative keys -------------------------------------------------------------


def test_derivative_keys_sit_beside_the_original():
    original = keys.linked_key(PREFIX, PATIENT, DAY, ID, "png")
    folder = f"{PREFIX}/{PATIENT}/2019-03-07"
    assert keys.derivative_keys(original) == (
        f"{folder}/{ID}.thumb.jpg",
        f"{folder}/{ID}.display.jpg",
    )


def test_derivative_keys_of_a_version_keep_the_version():
    original = keys.versioned_key(f"{PREFIX}/1/unknown-date/{ID}.jpg", ID, 4, "jpg")
    thumb, display = keys.derivative_keys(original)
    assert thumb == f"{PREFIX}/1/unknown-date/{ID}.v4.thumb.jpg"
    assert display == f"{PREFIX}/1/unknown-date/{ID}.v4.display.jpg"


@pytest.mark.parametrize("s3_key", ["", f"{PREFIX}/", f"{PREFIX}/1/unknown-date/"])
def test_derivative_keys_need_an_original(s3_key):
    with pytest.raises(ValueError, match="original"):
        keys.derivative_keys(s3_key)


# -- every key built is safe -----------------------------------------------------

_SEGMENT = st.text(
    string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12
)
prefixes = st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join)
patient_refs = st.one_of(
    st.uuids().map(str),
    st.integers(min_value=0, max_value=10**18).map(str),
    st.text(max_size=70),  # mostly refused; whatever passes must be safe
)
filemaker_ids = st.one_of(
    st.uuids().map(lambda u: str(u).upper()),
    st.text(max_size=40),
)
extensions = st.one_of(st.sampled_from(IMAGE_EXTENSIONS), st.text(max_size=6))
dates = st.one_of(st.none(), st.dates())


def assert_safe(key: str, prefix: str) -> None:
    assert key.isascii(), key
    assert ".." not in key, key
    assert "//" not in key, key
    assert not key.startswith("/"), key
    assert key.startswith(f"{prefix}/"), key


@given(
    prefix=prefixes,
    patient_ref=patient_refs,
    date=dates,
    image_type=st.text(max_size=250),
    filemaker_id=filemaker_ids,
    ext=extensions,
    version=st.integers(min_value=2, max_value=10**6),
)
def test_any_key_built_is_safe(
    prefix, patient_ref, date, image_type, filemaker_id, ext, version
):
    built: list[str] = []
    try:
        unlinked = keys.unlinked_key(prefix, image_type, filemaker_id, ext)
    except ValueError:
        unlinked = None
    if unlinked is not None:
        built += [unlinked, *keys.derivative_keys(unlinked)]
        built.append(keys.versioned_key(unlinked, filemaker_id, version, ext))
        with contextlib.suppress(ValueError):  # a patient ref refused
            built.append(
                keys.relinked_key(unlinked, prefix, patient_ref, date, filemaker_id)
            )
    try:
        linked = keys.linked_key(prefix, patient_ref, date, filemaker_id, ext)
    except ValueError:
        linked = None
    if linked is not None:
        built += [linked, *keys.derivative_keys(linked)]
    for key in built:
        assert_safe(key, prefix)
    if keys.canonical_uuid(filemaker_id) == filemaker_id and ext in IMAGE_EXTENSIONS:
        assert unlinked is not None  # a valid id and extension always make a key


@given(filemaker_id=st.uuids(), braces=st.booleans(), dashes=st.booleans())
def test_canonical_uuid_round_trips(filemaker_id, braces, dashes):
    text = str(filemaker_id) if dashes else filemaker_id.hex
    text = "{" + text + "}" if braces else text
    canonical = keys.canonical_uuid(text)
    assert canonical == str(filemaker_id).upper()
    assert keys.canonical_uuid(canonical) == canonical
