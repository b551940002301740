"""Unreadable dates and file names that lie, as parsed and noted (issue #16).

Django-free parts (source.py) by property, then what the ledger keeps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filemaker_migration import ledger
from filemaker_migration.dataapi import Record
from filemaker_migration.fields import ImageFields
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.pipeline.outcomes import success_of
from filemaker_migration.presign import default_download_name
from filemaker_migration.source import EXTENSION_MISMATCH
from filemaker_migration.source import UNREADABLE_DATE
from filemaker_migration.source import clean_text
from filemaker_migration.source import extension_mismatch
from filemaker_migration.source import honest_filename
from filemaker_migration.source import parse_record
from filemaker_migration.source import record_notes as notes_for
from tests.units.test_ledger import source

FIELDS = ImageFields()
EXTENSIONS = ["jpg", "png", "gif", "tif", "webp", "bmp", "heic"]
SPELLED = {"jpg": {"jpg", "jpeg", "jpe", "jfif", "jif"}, "tif": {"tif", "tiff"}}


def date_of(value: object) -> tuple[dt.date | None, str]:
    src = parse_record(
        Record("1", "0", {FIELDS.date: value}), FIELDS, use_thumbnail=False
    )
    return src.image_date, src.image_date_raw


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans()))
def test_a_date_is_read_or_its_text_kept_never_both(value):
    date, raw = date_of(value)
    assert date is None or raw == ""
    assert all(ch.isprintable() for ch in raw)
    assert len(raw) <= 200
    if date is None:
        # Filled (as one line of printable text) but not a date: kept.
        assert raw == clean_text(value)


@pytest.mark.parametrize(
    ("value", "date", "raw"),
    [
        ("13/45/2020", None, "13/45/2020"),
        ("yesterday", None, "yesterday"),
        (" ", None, ""),
        ("", None, ""),
        ("01/02/2020", dt.date(2020, 1, 2), ""),
        ("2020-01-02", dt.date(2020, 1, 2), ""),
    ],
)
def test_examples_of_dates(value, date, raw):
    assert date_of(value) == (date, raw)


@given(
    name=st.text(min_size=1, max_size=60).map(str.strip).filter(bool),
    claimed=st.sampled_from(["", "jpg", "JPEG", "png", "Tiff", "pdf", "2020", "Smith"]),
    extension=st.sampled_from(EXTENSIONS),
)
def test_a_download_name_always_tells_the_bytes_type(name, claimed, extension):
    original = f"{name}.{claimed}" if claimed else name
    honest = honest_filename(original, extension)
    told = honest.rsplit(".", 1)[-1].lower()
    assert told in SPELLED.get(extension, {extension})
    if not extension_mismatch(original, extension) and told == claimed.lower():
        assert honest == original  # nothing to correct: the name as given
    assert honest.startswith(original.rpartition(".")[0].rstrip() or original[:1])


@pytest.mark.parametrize(
    ("name", "extension", "download", "mismatch"),
    [
        ("Left foot.jpg", "png", "Left foot.png", True),
        ("IMG_0001.JPEG", "jpg", "IMG_0001.JPEG", False),
        ("scan.TIFF", "tif", "scan.TIFF", False),
        ("notes.pdf", "jpg", "notes.jpg", True),
        ("visit 12.03.2020", "jpg", "visit 12.03.2020.jpg", False),
        ("J.Smith", "png", "J.Smith.png", False),
        ("photo", "gif", "photo.gif", False),
    ],
)
def test_examples_of_names(name, extension, download, mismatch):
    assert honest_filename(name, extension) == download
    assert extension_mismatch(name, extension) is mismatch
    key = f"patients/x/unknown-date/ABC.{extension}"
    assert default_download_name(key, "abc", name) == download
    notes = [n["note"] for n in notes_for("", name, key)]
    assert notes == ([EXTENSION_MISMATCH] if mismatch else [])


def test_the_report_names_extensions_never_the_file_name():
    (note,) = notes_for("", "Jane Citizen left foot.jpg", "k/ID.png")
    assert note == {
        "note": EXTENSION_MISMATCH,
        "detail": "named .jpg, the bytes are .png: downloads are named .png",
    }


@pytest.mark.django_db
def test_the_ledger_keeps_an_unreadable_dates_text_and_reports_it():
    run = ImportRun.objects.create()
    src = dataclasses.replace(source("1"), image_date=None, image_date_raw="13/45/2020")
    entry = ledger.register(src, run, None)
    assert LedgerEntry.objects.get(pk=entry.pk).image_date_raw == "13/45/2020"
    entry.s3_key = "p/unknown-date/ID.png"  # the bytes are a PNG
    outcome = success_of(entry, batch_created=False)
    assert (outcome.reason, outcome.detail) == (UNREADABLE_DATE, "13/45/2020")
    assert [n["note"] for n in outcome.notes] == [UNREADABLE_DATE, EXTENSION_MISMATCH]
    # Imported, the entry has no reason of its own: the text it keeps is
    # what tells it apart from an empty date (the admin reads it there).
    ledger.record_exported(entry, mod_id="5")
    row = LedgerEntry.objects.get(pk=entry.pk)
    assert (row.state, row.reason, row.image_date_raw) == (
        "imported_unlinked",
        "",
        "13/45/2020",
    )
    # Read on a later run, the date replaces the text.
    again = ledger.register(dataclasses.replace(source("1")), run, entry)
    assert LedgerEntry.objects.get(pk=again.pk).image_date_raw == ""
