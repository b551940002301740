"""Each transition of the ledger (filemaker_migration.ledger), one at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from filemaker_migration import ledger
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.source import SourceRecord

pytestmark = pytest.mark.django_db

ID = "0F8FAD5B-D9CB-469F-A165-70867728950E"
OTHER_ID = "7C9E6679-7425-40DE-944B-E07FC1F90AE7"
CONTACT = "3E4666BF-D5E5-4AA7-B8CE-CEFE41C7568A"
TRIED = [{"field": "image_Full", "result": "ok"}]


def source(record_id: str = "1", **changes: object) -> SourceRecord:
    src = SourceRecord(
        record_id=record_id,
        mod_id="4",
        recid=int(record_id),
        filemaker_id_raw=ID.lower(),
        filemaker_id=ID,
        contact_id=CONTACT,
        image_type="Before",
        image_date=dt.date(2021, 5, 4),
        original_filename="IMG_0001.JPG",
        containers=(("image_Full", "https://fm.test/Streaming/1.jpg"),),
        md5="",
        modified_at="05/04/2021 10:00:00",
        exported=False,
    )
    return dataclasses.replace(src, **changes)


def upload(patient_ref: str = "12", **changes: object) -> ledger.Upload:
    up = ledger.Upload(
        s3_key=f"images/{patient_ref}/2021-05-04/{ID}.jpg",
        sha256="ab" * 32,
        size=1234,
        content_type="image/jpeg",
        width=640,
        height=480,
        container_field="image_Full",
        fields_tried=TRIED,
        patient_ref=patient_ref,
        thumbnail_key=f"images/{patient_ref}/2021-05-04/{ID}.thumb.jpg",
        display_key=f"images/{patient_ref}/2021-05-04/{ID}.display.jpg",
    )
    return dataclasses.replace(up, **changes)


@pytest.fixture
def run() -> ImportRun:
    return ImportRun.objects.create()


@pytest.fixture
def entry(run) -> LedgerEntry:
    return ledger.register(source(), run, None)


def stored(entry: LedgerEntry) -> LedgerEntry:
    """The entry as the database has it (not as the object in hand says)."""
    return LedgerEntry.objects.get(pk=entry.pk)


# -- register -----------------------------------------------------------------


def test_register_a_new_record_creates_its_entry(run):
    entry = ledger.register(source("7", recid=7), run, None)
    row = stored(entry)
    assert row.record_id == "7"
    assert row.run == run
    assert row.attempts == 1
    assert row.state == State.PENDING
    assert row.filemaker_id == ID
    assert row.filemaker_id_raw == ID.lower()
    assert row.contact_id == CONTACT
    assert row.image_type == "Before"
    assert row.image_date == dt.date(2021, 5, 4)
    assert row.mod_id == "4"
    assert row.modified_at_source == "05/04/2021 10:00:00"
    assert row.original_filename == "IMG_0001.JPG"


def test_register_a_record_with_an_invalid_id_keeps_the_raw_value(run):
    entry = ledger.register(
        source(filemaker_id_raw="not a uuid", filemaker_id=None), run, None
    )
    row = stored(entry)
    assert row.filemaker_id == ""
    assert row.filemaker_id_raw == "not a uuid"


def test_register_an_existing_record_counts_the_attempt_and_updates_it(entry):
    second_run = ImportRun.objects.create()
    again = ledger.register(
        source(mod_id="9", image_type="After"), second_run, entries_of(entry)
    )
    assert again.pk == entry.pk
    assert again.attempts == 2  # the object in hand agrees with the row
    row = stored(entry)
    assert row.attempts == 2
    assert row.run == second_run
    assert row.mod_id == "9"
    assert row.image_type == "After"
    assert LedgerEntry.objects.count() == 1


def entries_of(entry: LedgerEntry) -> LedgerEntry:
    """The entry as a run looks it up (ledger.entries_for)."""
    found = ledger.entries_for([source(entry.record_id)])
    assert list(found) == [entry.record_id]
    return found[entry.record_id]


def test_register_clears_exported_at_when_filemaker_shows_it_unexported(entry, run):
    ledger.record_upload(entry, upload())
    ledger.record_persisted(entry, image_ref="55")
    ledger.record_exported(entry, mod_id="5")
    assert stored(entry).exported_at is not None

    again = ledger.register(source(), run, entries_of(entry))
    row = stored(entry)
    assert row.exported_at is None
    assert again.exported_at is None
    # The other facts stay: only FileMaker's write-back is done again.
    assert row.image_ref == "55"
    assert row.persisted_at is not None
    assert ledger.next_step(row) == ledger.STEP_MARK


def test_register_leaves_an_unexported_entrys_facts_alone(entry, run):
    ledger.record_upload(entry, upload())
    again = ledger.register(source(), run, entries_of(entry))
    row = stored(again)
    assert row.uploaded_at is not None
    assert row.s3_key == upload().s3_key
    assert row.attempts == 2


# -- the import's transitions ------------------------------------------------------


def test_record_upload_notes_the_objects_facts(entry):
    ledger.record_failed(entry, reason="download_failed", error="timeout")
    up = upload()
    ledger.record_upload(entry, up)
    row = stored(entry)
    assert row.state == State.UPLOADED
    assert row.s3_key == up.s3_key
    assert row.sha256 == up.sha256
    assert row.size == 1234
    assert row.content_type == "image/jpeg"
    assert (row.width, row.height) == (640, 480)
    assert row.container_field == "image_Full"
    assert row.fields_tried == TRIED
    assert row.patient_ref == "12"
    assert row.thumbnail_key == up.thumbnail_key
    assert row.display_key == up.display_key
    assert row.uploaded_at is not None
    # An earlier failure's reason and error are cleared.
    assert (row.reason, row.last_error) == ("", "")
    assert row.persisted_at is None


def test_record_persisted_after_an_earlier_upload(entry):
    ledger.record_upload(entry, upload())
    uploaded_at = stored(entry).uploaded_at
    ledger.record_persisted(entry, image_ref="55")
    row = stored(entry)
    assert row.state == State.PERSISTED
    assert row.image_ref == "55"
    assert row.persisted_at is not None
    # The upload's facts are those of the earlier UPDATE.
    assert row.uploaded_at == uploaded_at
    assert row.s3_key == upload().s3_key


def test_record_persisted_with_this_runs_upload_notes_both(entry):
    assert stored(entry).uploaded_at is None
    ledger.record_persisted(entry, image_ref="55", upload=upload())
    row = stored(entry)
    assert row.state == State.PERSISTED
    assert row.image_ref == "55"
    assert row.persisted_at is not None
    assert row.uploaded_at is not None
    assert row.s3_key == upload().s3_key
    assert row.patient_ref == "12"


def test_record_persisted_of_an_unlinked_image(entry):
    ledger.record_persisted(entry, image_ref="", upload=upload(patient_ref=""))
    row = stored(entry)
    assert row.state == State.PERSISTED
    assert row.image_ref == ""
    assert row.patient_ref == ""


@pytest.mark.parametrize(
    ("image_ref", "final"), [("55", State.IMPORTED), ("", State.IMPORTED_UNLINKED)]
)
def test_record_exported_decides_by_the_image_row(entry, image_ref, final):
    ledger.record_persisted(entry, image_ref=image_ref, upload=upload())
    ledger.record_failed(entry, reason="mark_failed", error="FileMaker error 951")
    ledger.record_exported(entry, mod_id="5")
    row = stored(entry)
    assert row.state == final
    assert row.exported_mod_id == "5"
    assert row.exported_at is not None
    assert (row.reason, row.detail, row.last_error) == ("", "", "")
    assert ledger.next_step(row) == ledger.STEP_NONE


def test_record_skipped(entry):
    ledger.record_skipped(
        entry, reason="no_image", detail="every container empty", fields_tried=TRIED
    )
    row = stored(entry)
    assert row.state == State.SKIPPED
    assert row.reason == "no_image"
    assert row.detail == "every container empty"
    assert row.fields_tried == TRIED


def test_record_failed_keeps_the_facts_of_finished_steps(entry):
    ledger.record_upload(entry, upload())
    ledger.record_failed(entry, reason="persist_failed", error="database is locked")
    row = stored(entry)
    assert row.state == State.FAILED
    assert row.reason == "persist_failed"
    assert row.last_error == "database is locked"
    assert row.uploaded_at is not None
    assert row.s3_key == upload().s3_key
    assert row.fields_tried == TRIED  # not given: left as it was
    # A rerun resumes after the upload.
    assert ledger.next_step(row) == ledger.STEP_PERSIST


def test_record_failed_with_fields_tried_replaces_them(entry):
    ledger.record_upload(entry, upload())
    tried = [{"field": "image_Full", "result": "truncated"}]
    ledger.record_failed(entry, reason="no_image", error="", fields_tried=tried)
    assert stored(entry).fields_tried == tried


# -- operations after the import -----------------------------------------------------


@pytest.fixture
def unlinked(entry) -> LedgerEntry:
    ledger.record_persisted(entry, image_ref="", upload=upload(patient_ref=""))
    ledger.record_exported(entry, mod_id="5")
    assert entry.state == State.IMPORTED_UNLINKED
    return entry


def test_record_relinked_links_an_unlinked_entry(unlinked):
    done = ledger.record_relinked(
        unlinked,
        image_ref="88",
        patient_ref="12",
        s3_key=f"images/12/2021-05-04/{ID}.jpg",
        mod_id="6",
        thumbnail_key="t",
        display_key="d",
    )
    assert done is True
    row = stored(unlinked)
    assert row.state == State.IMPORTED
    assert row.image_ref == "88"
    assert row.patient_ref == "12"
    assert row.s3_key == f"images/12/2021-05-04/{ID}.jpg"
    assert row.exported_mod_id == "6"
    assert (row.thumbnail_key, row.display_key) == ("t", "d")
    assert unlinked.image_ref == "88"  # the object in hand follows


def test_record_relinked_twice_changes_nothing_the_second_time(unlinked):
    assert ledger.record_relinked(
        unlinked, image_ref="88", patient_ref="12", s3_key="k1", mod_id="6"
    )
    before = stored(unlinked)
    again = stored(unlinked)
    done = ledger.record_relinked(
        again, image_ref="99", patient_ref="13", s3_key="k2", mod_id="7"
    )
    assert done is False
    after = stored(unlinked)
    assert (after.image_ref, after.patient_ref, after.s3_key) == ("88", "12", "k1")
    assert after.exported_mod_id == "6"
    assert after.updated_at == before.updated_at
    assert again.image_ref == "88"  # nothing applied to the object either


def test_record_relinked_without_a_mod_id_keeps_the_receipt(unlinked):
    ledger.record_relinked(
        unlinked, image_ref="88", patient_ref="12", s3_key="k1", mod_id=""
    )
    assert stored(unlinked).exported_mod_id == "5"


def test_record_relinked_refuses_a_linked_entry(entry):
    ledger.record_persisted(entry, image_ref="55", upload=upload())
    ledger.record_exported(entry, mod_id="5")
    done = ledger.record_relinked(
        entry, image_ref="88", patient_ref="13", s3_key="k", mod_id="6"
    )
    assert done is False
    assert stored(entry).image_ref == "55"


def test_record_rolled_back_clears_all_but_the_object(entry):
    ledger.record_persisted(entry, image_ref="55", upload=upload())
    ledger.record_exported(entry, mod_id="5")
    ledger.record_rolled_back(entry)
    row = stored(entry)
    assert row.state == State.PENDING
    assert row.reason == ledger.ROLLED_BACK
    assert (row.image_ref, row.patient_ref, row.exported_mod_id) == ("", "", "")
    assert row.uploaded_at is None
    assert row.persisted_at is None
    assert row.exported_at is None
    # What a rerun of the rollback needs to delete the object stays.
    assert row.s3_key == upload().s3_key
    assert row.sha256 == upload().sha256
    assert ledger.next_step(row) == ledger.STEP_SELECT


def test_forget_deletes_a_rolled_back_entry(entry):
    ledger.record_rolled_back(entry)
    ledger.forget(entry)
    assert not LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("reason", ["", "no_image", "download_failed"])
def test_forget_keeps_any_other_entry(entry, reason):
    ledger.record_failed(entry, reason=reason, error="x")
    ledger.forget(entry)
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_forget_keeps_an_imported_entry(entry):
    ledger.record_persisted(entry, image_ref="55", upload=upload())
    ledger.record_exported(entry, mod_id="5")
    ledger.forget(entry)
    assert stored(entry).state == State.IMPORTED


def test_record_new_version_replaces_the_object_facts(entry):
    ledger.record_persisted(entry, image_ref="55", upload=upload())
    ledger.record_exported(entry, mod_id="5")
    ledger.record_new_version(
        entry,
        s3_key=f"images/12/2021-05-04/{ID}.v2.png",
        sha256="cd" * 32,
        size=99,
        content_type="image/png",
        width=10,
        height=20,
        container_field="image_large",
        mod_id="8",
        modified_at_source="06/01/2021 09:00:00",
        thumbnail_key="t2",
        display_key="d2",
    )
    row = stored(entry)
    assert row.s3_key == f"images/12/2021-05-04/{ID}.v2.png"
    assert (row.sha256, row.size, row.content_type) == ("cd" * 32, 99, "image/png")
    assert (row.width, row.height) == (10, 20)
    assert row.container_field == "image_large"
    assert row.mod_id == "8"
    assert row.modified_at_source == "06/01/2021 09:00:00"
    assert (row.thumbnail_key, row.display_key) == ("t2", "d2")
    # Until FileMaker is told the new receipt, the record still reads as changed.
    assert row.exported_mod_id == "5"
    assert row.state == State.IMPORTED
    assert row.image_ref == "55"


def test_record_export_mod_id_notes_the_receipt(entry):
    ledger.record_persisted(entry, image_ref="55", upload=upload())
    ledger.record_exported(entry, mod_id="5")
    ledger.record_export_mod_id(entry, mod_id="9")
    row = stored(entry)
    assert (row.exported_mod_id, row.mod_id) == ("9", "9")
    assert row.exported_at is not None
    assert row.state == State.IMPORTED  # the state is not the receipt's business


# -- what is left to do -------------------------------------------------------------


NOW = timezone.now()


@pytest.mark.parametrize(
    ("uploaded", "persisted", "exported", "step"),
    [
        (False, False, False, ledger.STEP_SELECT),
        (True, False, False, ledger.STEP_PERSIST),
        (False, True, False, ledger.STEP_MARK),  # an unlinked image, say
        (True, True, False, ledger.STEP_MARK),
        (True, True, True, ledger.STEP_NONE),
        (False, True, True, ledger.STEP_NONE),
        # Exported but not persisted cannot be reached; the rows come first.
        (True, False, True, ledger.STEP_PERSIST),
        (False, False, True, ledger.STEP_SELECT),
    ],
)
def test_next_step(uploaded, persisted, exported, step):
    entry = LedgerEntry(
        record_id="1",
        uploaded_at=NOW if uploaded else None,
        persisted_at=NOW if persisted else None,
        exported_at=NOW if exported else None,
    )
    assert ledger.next_step(entry) == step


def test_next_step_follows_the_transitions(entry):
    assert ledger.next_step(stored(entry)) == ledger.STEP_SELECT
    ledger.record_upload(entry, upload())
    assert ledger.next_step(stored(entry)) == ledger.STEP_PERSIST
    ledger.record_persisted(entry, image_ref="55")
    assert ledger.next_step(stored(entry)) == ledger.STEP_MARK
    ledger.record_exported(entry, mod_id="5")
    assert ledger.next_step(stored(entry)) == ledger.STEP_NONE


# -- who holds a FileMaker id --------------------------------------------------------


def test_holders_of_ignores_duplicate_id_skips(run):
    first = ledger.register(source("1"), run, None)
    second = ledger.register(source("2"), run, None)
    duplicate = ledger.register(source("3"), run, None)
    ledger.record_skipped(
        duplicate, reason=ledger.DUPLICATE_ID, detail="held by 1", fields_tried=[]
    )
    ledger.register(source("4", filemaker_id=OTHER_ID), run, None)
    # Another skip reason still holds the id.
    ledger.record_skipped(second, reason="no_image", detail="", fields_tried=[])

    page = [source("5"), source("6", filemaker_id=None)]
    holders = ledger.holders_of(page)
    assert holders == {ID: {first.record_id, second.record_id}}


def test_holders_of_a_page_without_valid_ids_is_empty(run):
    ledger.register(source("1"), run, None)
    assert ledger.holders_of([source("2", filemaker_id=None)]) == {}


def test_entries_for_finds_only_the_pages_records(run):
    ledger.register(source("1"), run, None)
    ledger.register(source("2"), run, None)
    found = ledger.entries_for([source("2"), source("3")])
    assert list(found) == ["2"]
    assert found["2"].record_id == "2"
