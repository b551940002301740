"""The clinic's rows for a stored image (pipeline/persist.py), with the
configured target: the reference clinic's, or the generic clinic app's under
tests.generic_clinic.settings. The clinic's rows are read through the target
only, so both runs assert the same things."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction

from filemaker_migration import ledger
from filemaker_migration.keys import linked_key
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.models import VisitBatch
from filemaker_migration.pipeline.persist import batch_for
from filemaker_migration.pipeline.persist import persist
from filemaker_migration.source import SourceRecord
from filemaker_migration.targets import ImageFacts
from filemaker_migration.targets import PatientFacts
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "3E4666BF-D5E5-4AA7-B8CE-CEFE41C7568A"
VISIT = dt.date(2021, 5, 4)


@pytest.fixture
def target() -> Target:
    return get_target()


@pytest.fixture
def patient_ref(target) -> str:
    target.save_patient(
        PatientFacts(
            contact_id=CONTACT,
            first_name="Ada",
            last_name="Lovelace",
            date_of_birth=dt.date(1970, 1, 2),
        )
    )
    return target.patients_by_contact([CONTACT])[CONTACT]


@pytest.fixture
def run() -> ImportRun:
    return ImportRun.objects.create()


def new_entry(run: ImportRun, record_id: str, date: dt.date | None) -> LedgerEntry:
    filemaker_id = str(uuid.UUID(int=int(record_id))).upper()
    src = SourceRecord(
        record_id=record_id,
        mod_id="1",
        recid=int(record_id),
        filemaker_id_raw=filemaker_id,
        filemaker_id=filemaker_id,
        contact_id=CONTACT,
        image_type="Before",
        image_date=date,
        original_filename=f"IMG_{record_id}.JPG",
        containers=(("image_Full", f"https://fm.test/Streaming/{record_id}.jpg"),),
        md5="",
        modified_at="05/04/2021 10:00:00",
        exported=False,
    )
    return ledger.register(src, run, None)


def upload_of(entry: LedgerEntry, patient_ref: str) -> ledger.Upload:
    if patient_ref:
        key = linked_key(
            "images", patient_ref, entry.image_date, entry.filemaker_id, "jpg"
        )
    else:
        key = f"images/unlinked/before/{entry.filemaker_id}.jpg"
    return ledger.Upload(
        s3_key=key,
        sha256="ab" * 32,
        size=1234,
        content_type="image/jpeg",
        width=640,
        height=480,
        container_field="image_Full",
        fields_tried=[{"field": "image_Full", "result": "used", "size": 1234}],
        patient_ref=patient_ref,
        thumbnail_key=key.replace(".jpg", ".thumb.jpg"),
        display_key=key,
    )


def stored(entry: LedgerEntry) -> LedgerEntry:
    return LedgerEntry.objects.get(pk=entry.pk)


def test_an_unlinked_image_gets_no_rows_but_is_persisted(target, run):
    entry = new_entry(run, "1", VISIT)
    created = persist(target, entry, upload_of(entry, ""))
    assert created is False
    row = stored(entry)
    assert row.state == State.PERSISTED
    assert row.persisted_at is not None
    assert row.image_ref == ""
    assert row.s3_key == f"images/unlinked/before/{entry.filemaker_id}.jpg"
    assert list(target.batches()) == []
    assert list(target.images()) == []
    assert not VisitBatch.objects.exists()


def test_a_linked_image_gets_its_batch_image_and_visit_at_once(
    target, run, patient_ref
):
    entry = new_entry(run, "1", VISIT)
    upload = upload_of(entry, patient_ref)
    assert persist(target, entry, upload) is True

    visit = VisitBatch.objects.get()
    assert (visit.patient_ref, visit.visit) == (patient_ref, "2021-05-04")
    [batch] = target.batches()
    assert batch.ref == visit.batch_ref
    assert batch.patient_ref == patient_ref
    assert batch.image_count == 1

    row = stored(entry)
    assert row.state == State.PERSISTED
    assert row.image_ref != ""
    assert entry.image_ref == row.image_ref
    image = target.image(row.image_ref)
    assert image is not None
    assert image.batch_ref == visit.batch_ref
    assert image.s3_key == upload.s3_key
    assert image.filemaker_id == entry.filemaker_id
    # This run's upload facts were noted in the same UPDATE.
    assert row.uploaded_at is not None
    assert row.s3_key == upload.s3_key
    assert row.patient_ref == patient_ref


def test_a_second_image_of_the_visit_reuses_its_batch(target, run, patient_ref):
    first = new_entry(run, "1", VISIT)
    second = new_entry(run, "2", VISIT)
    assert persist(target, first, upload_of(first, patient_ref)) is True
    assert persist(target, second, upload_of(second, patient_ref)) is False

    visit = VisitBatch.objects.get()
    [batch] = target.batches()
    assert batch.image_count == 2
    refs = {stored(first).image_ref, stored(second).image_ref}
    assert len(refs) == 2
    assert {target.image(ref).batch_ref for ref in refs} == {visit.batch_ref}


def test_an_image_persisted_from_an_earlier_upload(target, run, patient_ref):
    # The object was stored by an earlier run; its facts are on the entry.
    entry = new_entry(run, "1", VISIT)
    upload = upload_of(entry, patient_ref)
    ledger.record_upload(entry, upload)
    assert persist(target, stored(entry)) is True
    row = stored(entry)
    assert row.state == State.PERSISTED
    assert target.image(row.image_ref).s3_key == upload.s3_key


def test_undated_images_get_a_batch_of_their_own(target, run, patient_ref):
    dated = new_entry(run, "1", VISIT)
    undated = new_entry(run, "2", None)
    another_undated = new_entry(run, "3", None)
    assert persist(target, dated, upload_of(dated, patient_ref)) is True
    assert persist(target, undated, upload_of(undated, patient_ref)) is True
    assert (
        persist(target, another_undated, upload_of(another_undated, patient_ref))
        is False
    )

    visits = dict(VisitBatch.objects.values_list("visit", "batch_ref"))
    assert set(visits) == {"2021-05-04", ""}
    assert visits["2021-05-04"] != visits[""]
    counts = {batch.ref: batch.image_count for batch in target.batches()}
    assert counts == {visits["2021-05-04"]: 1, visits[""]: 2}
    assert target.image(stored(undated).image_ref).batch_ref == visits[""]


class CreateImageRefused(Exception):
    pass


class DelegatingTarget:
    """The configured target, counting the batches it is asked to create."""

    def __init__(self, real: Target) -> None:
        self.real = real
        self.batches_created = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def create_batch(self, patient_ref: str, date: dt.date | None) -> str:
        self.batches_created += 1
        return self.real.create_batch(patient_ref, date)


class RefusingTarget(DelegatingTarget):
    """`create_image` fails after the batch was created. A stand-in for the
    real target: neither clinic's tables can be made to refuse an image row
    from a test, and a failure at that point is what must leave nothing."""

    def create_image(self, batch_ref: str, facts: ImageFacts) -> str:
        raise CreateImageRefused(batch_ref)


def test_a_failing_image_row_leaves_no_batch_and_the_ledger_unchanged(
    target, run, patient_ref
):
    entry = new_entry(run, "1", VISIT)
    ledger.record_upload(entry, upload_of(entry, patient_ref))
    before = stored(entry)
    refusing = RefusingTarget(target)

    with pytest.raises(CreateImageRefused):
        persist(refusing, stored(entry))

    assert refusing.batches_created == 1  # the batch was made, then taken back
    assert list(target.batches()) == []
    assert list(target.images()) == []
    assert not VisitBatch.objects.exists()
    after = stored(entry)
    assert after.state == State.UPLOADED
    assert after.image_ref == ""
    assert after.persisted_at is None
    assert after.updated_at == before.updated_at
    assert ledger.next_step(after) == ledger.STEP_PERSIST

    # The rerun with the real target finishes the job.
    assert persist(target, after) is True
    assert stored(entry).image_ref != ""


def test_a_failing_image_row_keeps_an_existing_batch(target, run, patient_ref):
    first = new_entry(run, "1", VISIT)
    persist(target, first, upload_of(first, patient_ref))
    second = new_entry(run, "2", VISIT)
    upload = upload_of(second, patient_ref)

    with pytest.raises(CreateImageRefused):
        persist(RefusingTarget(target), second, upload)

    [batch] = target.batches()
    assert batch.image_count == 1
    assert VisitBatch.objects.count() == 1
    row = stored(second)
    assert (row.state, row.image_ref, row.uploaded_at) == (State.PENDING, "", None)


def test_batch_for_uses_the_visits_existing_batch(target, patient_ref):
    with transaction.atomic():
        batch_ref = target.create_batch(patient_ref, VISIT)
        VisitBatch.objects.create(
            patient_ref=patient_ref, visit="2021-05-04", batch_ref=batch_ref
        )
    refusing = RefusingTarget(target)

    with transaction.atomic():
        found = batch_for(refusing, patient_ref, VISIT)

    assert found == (batch_ref, False)
    assert refusing.batches_created == 0
    assert [batch.ref for batch in target.batches()] == [batch_ref]
    assert VisitBatch.objects.count() == 1


def test_batch_for_creates_a_missing_one(target, patient_ref):
    with transaction.atomic():
        batch_ref, created = batch_for(target, patient_ref, None)
    assert created is True
    assert VisitBatch.objects.get().batch_ref == batch_ref
    assert VisitBatch.objects.get().visit == ""
    [batch] = target.batches()
    assert (batch.ref, batch.patient_ref) == (batch_ref, patient_ref)


def test_the_target_gets_the_entrys_and_the_uploads_facts(target, run, patient_ref):
    seen: list[ImageFacts] = []

    class Recording(DelegatingTarget):
        def create_image(self, batch_ref: str, facts: ImageFacts) -> str:
            seen.append(facts)
            return self.real.create_image(batch_ref, facts)

    entry = new_entry(run, "7", VISIT)
    upload = upload_of(entry, patient_ref)
    persist(Recording(target), entry, upload)
    assert seen == [
        ImageFacts(
            filemaker_id=entry.filemaker_id,
            s3_key=upload.s3_key,
            size=1234,
            sha256="ab" * 32,
            content_type="image/jpeg",
            width=640,
            height=480,
            container_field="image_Full",
            thumbnail_key=upload.thumbnail_key,
            display_key=upload.display_key,
            image_type="Before",
            image_date=VISIT,
            original_filename="IMG_7.JPG",
            order=7,  # FileMaker's record order: its recordId
        )
    ]
