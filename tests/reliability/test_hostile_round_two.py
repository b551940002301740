"""Hostile input, round two (issue #16), each through the emulator and S3:

- pictures decoded within one budget of pixels for all workers, and one too
  large for it passed over with a reason naming its size;
- an unreadable date kept (ledger, report, review queue, inspect), the image
  still filed under unknown-date;
- a file name whose extension lies: downloads get the true one, the report
  notes it;
- a duplicate FileMaker id parked, naming the record that holds it, and
  imported once the clinic gives it an id of its own.
"""

from __future__ import annotations

import json
import threading
from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from PIL import ImageFile

from filemaker_migration import presign
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import ReviewItem
from filemaker_migration.models import State
from tests.reliability.clinic_files import NOT_A_PATIENT
from tests.reliability.clinic_files import Rec
from tests.reliability.clinic_files import ident
from tests.reliability.clinic_files import picture
from tests.reliability.clinic_files import run_import
from tests.reliability.clinic_files import served

pytestmark = pytest.mark.django_db(transaction=True)

FULL, EX_LARGE = "image_Full", "image_Ex_large"


@pytest.fixture
def shared_budget():
    """The process's budget, put back as it was after the test."""
    # Imported here so the other tests of this file run on a build without it.
    from filemaker_migration import decode_budget

    shared = decode_budget.shared()
    before = shared.megapixels
    yield shared
    shared.configure(before)


class LoadWatch:
    """Pixels being decoded at once, seen from Pillow's side (not the budget's)."""

    def __init__(self, monkeypatch) -> None:
        self.lock = threading.Lock()
        self.loading: dict[object, int] = {}
        self.max_shared = 0  # the most pixels decoded at once by two or more
        self.largest = 0
        original = ImageFile.ImageFile.load

        def load(image):
            token = object()
            with self.lock:
                self.loading[token] = image.size[0] * image.size[1]
                self.largest = max(self.largest, self.loading[token])
                if len(self.loading) > 1:
                    self.max_shared = max(self.max_shared, sum(self.loading.values()))
            try:
                return original(image)
            finally:
                with self.lock:
                    del self.loading[token]

        monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_decodes_stay_within_one_budget_and_a_picture_over_it_is_passed_over(
    settings, s3_server, emulator_tls_dir, tmp_path, monkeypatch, shared_budget
):
    png_15mp = picture("PNG", (1500, 1000))
    small = [
        picture("PNG", (500, 400), mode, shade=n)
        for n, mode in enumerate(["RGB", "RGBA", "P", "L"] * 3)
    ]
    records = [
        Rec(ident(1), {FULL: png_15mp, EX_LARGE: picture("JPEG", (640, 480))}),
        Rec(ident(2), {FULL: png_15mp}),
        Rec(ident(3), {FULL: picture("JPEG", (3000, 2000))}),
        Rec(ident(4), {FULL: png_15mp}, contact=NOT_A_PATIENT),
        *(Rec(ident(10 + n), {FULL: data}) for n, data in enumerate(small)),
    ]
    with served(settings, s3_server, emulator_tls_dir, tmp_path, records):
        settings.FILEMAKER = {**settings.FILEMAKER, "DECODE_BUDGET_MEGAPIXELS": 3}
        watch = LoadWatch(monkeypatch)
        shared_budget.reset_peak()
        report = run_import(tmp_path, "small-budget", "--workers", "8")
        peak = shared_budget.peak

        # A larger budget next time: the record passed over is looked at again.
        settings.FILEMAKER = {**settings.FILEMAKER, "DECODE_BUDGET_MEGAPIXELS": 16}
        again = run_import(tmp_path, "larger-budget")

    assert len(report) == len(records)
    assert all(r["outcome"] != "failed" for r in report.values())
    over = report["1"]["fields_tried"][0]
    assert (over["field"], over["result"]) == (FULL, "over_decode_budget")
    assert "1500x1000 pixels (1.5 MP)" in over["detail"]
    assert "decode budget of 3 MP" in over["detail"]
    assert (report["1"]["outcome"], report["1"]["container_field"]) == (
        "imported",
        EX_LARGE,
    )
    assert (report["2"]["outcome"], report["2"]["reason"]) == (
        "skipped",
        "over_decode_budget",
    )
    assert "1500x1000 pixels" in report["2"]["detail"]
    # A JPEG over the budget is decoded alone, at the scale its draft allows.
    assert report["3"]["container_field"] == FULL
    assert watch.largest >= 3000 * 2000
    # Without the gallery's JPEGs to make, the same PNG fits.
    assert (report["4"]["outcome"], report["4"]["container_field"]) == (
        "imported_unlinked",
        FULL,
    )
    assert {report[str(n)]["container_field"] for n in range(5, 17)} == {FULL}
    assert peak <= 3_000_000
    assert watch.max_shared <= 3_000_000, "pictures decoded together over budget"

    assert (again["2"]["outcome"], again["2"]["container_field"]) == (
        "imported",
        FULL,
    )
    assert LedgerEntry.objects.get(record_id="2").state == State.IMPORTED


def test_an_unreadable_date_is_kept_and_counted_apart_from_an_empty_one(
    settings, s3_server, emulator_tls_dir, tmp_path
):
    jpeg = picture("JPEG", (320, 240))
    records = [
        Rec(ident(1), {FULL: jpeg}, date="13/45/2020"),
        Rec(ident(2), {FULL: jpeg}, date="yesterday"),
        Rec(ident(3), {FULL: jpeg}, date=""),
        Rec(ident(4), {FULL: jpeg}, date="01/02/2020"),
        Rec(ident(5), {FULL: jpeg}, date="31/12/2019", contact=NOT_A_PATIENT),
        Rec(ident(6), {}, date="yesterday"),  # no picture at all
    ]
    with served(settings, s3_server, emulator_tls_dir, tmp_path, records):
        predicted = run_import(tmp_path, "dry-run", "--dry-run")
        report = run_import(tmp_path, "import")
        out = StringIO()
        call_command("inspect_filemaker_images", "--json", stdout=out)
    found = json.loads(out.getvalue())

    for record_id, raw in (("1", "13/45/2020"), ("2", "yesterday")):
        assert report[record_id]["outcome"] == "imported"
        assert (report[record_id]["reason"], report[record_id]["detail"]) == (
            "unreadable_date",
            raw,
        )
        assert (
            f"/unknown-date/{ident(int(record_id))}.jpg" in report[record_id]["s3_key"]
        )
        assert LedgerEntry.objects.get(record_id=record_id).image_date_raw == raw
    assert report["3"]["reason"] == ""
    assert report["3"]["s3_key"].endswith(f"/unknown-date/{ident(3)}.jpg")
    assert report["4"]["s3_key"].endswith(f"/2020-01-02/{ident(4)}.jpg")
    assert report["5"]["outcome"] == "imported_unlinked"
    assert report["5"]["reason"] == "unreadable_date"
    assert report["6"]["reason"] == "no_container"
    assert report["6"]["notes"] == [{"note": "unreadable_date", "detail": "yesterday"}]
    assert {r: predicted[r]["reason"] for r in report} == {
        r: report[r]["reason"] for r in report
    }

    undated = LedgerEntry.objects.filter(image_date__isnull=True)
    assert set(
        undated.filter(image_date_raw="").values_list("record_id", flat=True)
    ) == {"3"}
    assert set(
        undated.exclude(image_date_raw="").values_list("record_id", flat=True)
    ) == {"1", "2", "5", "6"}
    queue = ReviewItem.objects.filter(ReviewItem.needs_review())
    assert set(queue.values_list("record_id", flat=True)) == {"1", "2", "5", "6"}
    assert (found["date_empty"], found["date_unreadable"]) == (1, 4)


def test_a_name_whose_extension_lies_downloads_under_the_true_one(
    settings, s3_server, emulator_tls_dir, tmp_path
):
    png, jpeg = picture("PNG", (320, 240)), picture("JPEG", (320, 240))
    records = [
        Rec(ident(1), {FULL: png}, name="Left foot.jpg"),
        Rec(ident(2), {FULL: jpeg}, name="IMG_0001.JPEG"),
        Rec(ident(3), {FULL: jpeg}, name="scan 12.03.2020"),
        Rec(ident(4), {FULL: png}, name=""),
    ]
    with served(settings, s3_server, emulator_tls_dir, tmp_path, records):
        report = run_import(tmp_path, "import")
        downloads = {}
        for record_id in report:
            entry = LedgerEntry.objects.get(record_id=record_id)
            name = presign.default_download_name(
                entry.s3_key, entry.filemaker_id, entry.original_filename
            )
            answer = httpx.get(presign.presigned_url(entry.s3_key, download_name=name))
            answer.raise_for_status()
            downloads[record_id] = (
                answer.headers["content-disposition"],
                answer.content,
            )

    assert report["1"]["reason"] == "extension_mismatch"
    assert report["1"]["detail"] == (
        "named .jpg, the bytes are .png: downloads are named .png"
    )
    assert "Left foot" not in json.dumps(report), "the report names no file"
    # The name as FileMaker had it stays, as provenance.
    assert LedgerEntry.objects.get(record_id="1").original_filename == "Left foot.jpg"
    assert 'filename="Left foot.png"' in downloads["1"][0]
    assert downloads["1"][1] == png
    assert report["2"]["reason"] == ""
    assert 'filename="IMG_0001.JPEG"' in downloads["2"][0]
    assert report["3"]["reason"] == ""
    assert 'filename="scan 12.03.2020.jpg"' in downloads["3"][0]
    assert f'filename="{ident(4)}.png"' in downloads["4"][0]


def test_a_duplicate_id_is_parked_naming_the_first_and_imported_once_fixed(
    settings, s3_server, emulator_tls_dir, tmp_path
):
    first, second = picture("JPEG", (320, 240), shade=10), picture("PNG", (200, 100))
    records = [
        Rec(ident(1), {FULL: first}),
        Rec(ident(1).lower(), {FULL: second}),  # the same id, in lower case
    ]
    with served(settings, s3_server, emulator_tls_dir, tmp_path, records) as (
        _emulator,
        store,
    ):
        report = run_import(tmp_path, "first")
        rerun = run_import(tmp_path, "rerun")
        # The run book's way in: give the record its own id in FileMaker.
        fm = FileMakerSettings.from_settings()
        with fm.client(max_concurrency=1) as client:
            client.edit_record(fm.layout, "2", {fm.image_fields.id: ident(2)})
        fixed = run_import(tmp_path, "fixed")
        call_command("verify_filemaker_images", stdout=StringIO())  # CLEAN
        keys = {obj.key for obj in store.list_keys("")}

    assert report["1"]["outcome"] == "imported"
    for parked in (report["2"], rerun["2"]):
        assert (parked["outcome"], parked["reason"]) == (
            "skipped",
            "duplicate_filemaker_id",
        )
        assert parked["detail"].startswith("FileMaker record 1 has the same id")
        assert "give this record an id of its own in FileMaker" in parked["detail"]
    assert (fixed["2"]["outcome"], fixed["2"]["filemaker_id"]) == ("imported", ident(2))
    assert "1" not in fixed, "the first record is exported already"
    assert any(key.endswith(f"/{ident(2)}.png") for key in keys)
    assert any(key.endswith(f"/{ident(1)}.jpg") for key in keys)
