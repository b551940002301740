"""The configurable target, pointed at the reference clinic's own models.

The suite runs on config.settings, so the target is built here with OPTIONS
describing patients.Patient, images.ImageBatch and images.Image: a column
FileMaker id, a ForeignKey owner, a dated batch. (The generic relation and the
JSON id are the second test project's shape, tests/generic_clinic.)
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.patients.models import Patient
from filemaker_migration.targets import BatchRow
from filemaker_migration.targets import ImageFacts
from filemaker_migration.targets import ImageRow
from filemaker_migration.targets import PatientFacts
from filemaker_migration.targets import Target
from filemaker_migration.targets import TargetConfigurationError
from filemaker_migration.targets import get_target
from filemaker_migration.targets.configurable import ConfigurableTarget

BACKEND = "filemaker_migration.targets.configurable.ConfigurableTarget"
OPTIONS: dict[str, Any] = {
    "patient": {
        "model": "patients.Patient",
        "filemaker_id": "filemaker_id",
        "first_name": "first_name",
        "last_name": "last_name",
        "date_of_birth": "date_of_birth",
    },
    "batch": {
        "model": "images.ImageBatch",
        "owner": "patient",
        "name": "batch_name",
        "date": "captured_date",
        "values": {"import_source": "filemaker_import"},
    },
    "image": {
        "model": "images.Image",
        "batch": "batch",
        # Every fact but the order, which images.Image has no column for.
        "fields": {
            "filemaker_id": "filemaker_id",
            "s3_key": "s3_key",
            "size": "file_size",
            "sha256": "sha256",
            "content_type": "content_type",
            "width": "width",
            "height": "height",
            "container_field": "container_field",
            "thumbnail_key": "thumbnail_key",
            "display_key": "display_key",
            "image_type": "category",
            "image_date": "filemaker_date",
            "original_filename": "original_filename",
        },
    },
}
CONTACT = "0A1B2C3D-0000-4000-8000-00000000000A"
FM_ID = "5F0C1D2E-3A4B-4C5D-8E6F-708192A3B4C5"


def facts(**changes: Any) -> ImageFacts:
    values: dict[str, Any] = {
        "filemaker_id": FM_ID,
        "s3_key": "patients/filemaker-import/images/p/a.jpg",
        "size": 1234,
        "sha256": "ab" * 32,
        "content_type": "image/jpeg",
        "width": 640,
        "height": 480,
        "container_field": "Image",
        "thumbnail_key": "patients/filemaker-import/images/p/a.thumb.jpg",
        "display_key": "patients/filemaker-import/images/p/a.jpg",
        "image_type": "Left Planter",
        "image_date": dt.date(2016, 10, 18),
        "original_filename": "a.jpg",
        "order": 7,
    }
    return ImageFacts(**{**values, **changes})


def options(change: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    result = copy.deepcopy(OPTIONS)
    if change is not None:
        change(result)
    return result


@pytest.fixture
def target() -> ConfigurableTarget:
    return ConfigurableTarget(**options())


@pytest.fixture
def patient_ref(target: ConfigurableTarget) -> str:
    target.save_patient(PatientFacts(CONTACT, "Ann", "Lee", dt.date(1970, 1, 2)))
    return str(Patient.objects.get(filemaker_id=CONTACT).pk)


@pytest.mark.django_db
def test_it_implements_the_protocol(target):
    assert isinstance(target, Target)


# -- patients ---------------------------------------------------------------------


@pytest.mark.django_db
def test_save_patient_creates_updates_and_leaves_alone(target):
    facts_ = PatientFacts(CONTACT.lower(), "Ann", "Lee", dt.date(1970, 1, 2))
    assert target.save_patient(facts_) == "created"
    assert target.save_patient(facts_) == "unchanged"
    moved = PatientFacts(CONTACT, "Ann", "Lee-Smith", None)
    assert target.save_patient(moved) == "updated"
    row = Patient.objects.get()
    assert (row.filemaker_id, row.last_name, row.date_of_birth) == (
        CONTACT,
        "Lee-Smith",
        None,
    )


@pytest.mark.django_db
def test_patients_are_found_whatever_the_case(target, patient_ref):
    other = Patient.objects.create(first_name="Old")
    # Stored lower-case by an older import (save() would upper-case it).
    lower = "abcdef00-0000-4000-8000-000000000001"
    Patient.objects.filter(pk=other.pk).update(filemaker_id=lower)
    found = target.patients_by_contact([CONTACT.lower(), lower.upper(), "", "nope"])
    assert found == {CONTACT: patient_ref, lower.upper(): str(other.pk)}
    assert target.patients_by_contact([]) == {}
    Patient.objects.create(first_name="No FileMaker id")
    assert target.contact_ids() == {CONTACT, lower.upper()}


# -- batches ----------------------------------------------------------------------


@pytest.mark.django_db
def test_create_batch_names_dates_and_marks_it(target, patient_ref):
    dated = target.create_batch(patient_ref, dt.date(2016, 10, 8))
    undated = target.create_batch(patient_ref, None)
    rows = {str(b.pk): b for b in ImageBatch.objects.all()}
    assert rows[dated].batch_name == "8 Oct 2016 (FileMaker Import)"
    assert rows[dated].captured_date == dt.date(2016, 10, 8)
    assert rows[undated].batch_name == "Unknown date (FileMaker Import)"
    assert rows[undated].captured_date is None
    assert {b.import_source for b in rows.values()} == {"filemaker_import"}
    assert {str(b.patient_id) for b in rows.values()} == {patient_ref}


@pytest.mark.django_db
def test_batches_counts_image_rows_and_delete_batch(target, patient_ref):
    full = target.create_batch(patient_ref, dt.date(2016, 10, 18))
    empty = target.create_batch(patient_ref, None)
    target.create_image(full, facts())
    target.create_image(full, facts(filemaker_id=str(uuid.uuid4()).upper(), s3_key="b"))
    assert target.batch_image_count(full) == 2
    assert target.batch_image_count(empty) == 0
    assert sorted(target.batches(), key=lambda b: b.image_count) == [
        BatchRow(empty, patient_ref, "Unknown date (FileMaker Import)", 0),
        BatchRow(full, patient_ref, "18 Oct 2016 (FileMaker Import)", 2),
    ]
    target.delete_batch(empty)
    assert [b.ref for b in target.batches()] == [full]


@pytest.mark.django_db
def test_name_format_is_configurable(patient_ref):
    def change(o):
        o["batch"].update(name_format="{date:%Y-%m-%d}/{day}", undated_name="None")

    target = ConfigurableTarget(**options(change))
    ref = target.create_batch(patient_ref, dt.date(2016, 10, 8))
    assert ImageBatch.objects.get(pk=ref).batch_name == "2016-10-08/8"
    assert target.batch_name(None) == "None"


# -- images -----------------------------------------------------------------------


@pytest.mark.django_db
def test_create_image_and_read_it_back(target, patient_ref):
    batch = target.create_batch(patient_ref, dt.date(2016, 10, 18))
    ref = target.create_image(batch, facts())
    image = Image.objects.get(pk=ref)
    assert image.filemaker_id == uuid.UUID(FM_ID)
    assert (image.file_size, image.category, image.filemaker_date) == (
        1234,
        "Left Planter",
        dt.date(2016, 10, 18),
    )
    assert image.thumbnail_key.endswith("a.thumb.jpg")
    assert image.container_field == "Image"
    row = ImageRow(
        ref=ref,
        batch_ref=batch,
        s3_key=facts().s3_key,
        filemaker_id=FM_ID,
        size=1234,
        sha256="ab" * 32,
        image_type="Left Planter",
    )
    assert target.image(ref) == row
    assert list(target.images()) == [row]


@pytest.mark.django_db
def test_update_image_maps_facts_and_ignores_unstored_ones(target, patient_ref):
    batch = target.create_batch(patient_ref, None)
    ref = target.create_image(batch, facts(width=None, height=None, image_date=None))
    target.update_image(ref, {"image_type": "Right Dorsal", "size": 99, "order": 3})
    target.update_image(ref, {"order": 4})  # no column: nothing to do
    image = Image.objects.get(pk=ref)
    assert (image.category, image.file_size, image.width) == ("Right Dorsal", 99, None)


@pytest.mark.django_db
def test_delete_image_and_a_missing_one(target, patient_ref):
    batch = target.create_batch(patient_ref, None)
    ref = target.create_image(batch, facts())
    target.delete_image(ref)
    target.delete_image(ref)  # gone already: not an error
    assert target.image(ref) is None
    assert list(target.images()) == []
    assert target.batch_image_count(batch) == 0


@pytest.mark.django_db
def test_an_empty_thumbnail_is_left_to_the_clinic(patient_ref):
    target = ConfigurableTarget(
        **options(lambda o: o["image"].update(thumbnail="empty"))
    )
    batch = target.create_batch(patient_ref, None)
    ref = target.create_image(batch, facts())
    target.update_image(ref, {"thumbnail_key": "ours.jpg"})
    assert Image.objects.get(pk=ref).thumbnail_key == ""


@pytest.mark.django_db
def test_image_values_are_set_on_create(patient_ref):
    def change(o):
        del o["image"]["fields"]["image_type"]
        o["image"]["values"] = {"filemaker_type": "imported"}

    target = ConfigurableTarget(**options(change))
    ref = target.create_image(target.create_batch(patient_ref, None), facts())
    image = Image.objects.get(pk=ref)
    assert (image.filemaker_type, image.category) == ("imported", "")
    assert target.image(ref).image_type is None  # not stored: reads as None


# -- settings mistakes ------------------------------------------------------------

P = "FILEMAKER_MIGRATION_TARGET['OPTIONS']"


def _set(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda o: o[section].__setitem__(key, value)


def _field(fact: str, name: str) -> Callable[[dict[str, Any]], None]:
    return lambda o: o["image"]["fields"].__setitem__(fact, name)


MISTAKES = {
    "unknown model": (
        _set("patient", "model", "patients.Patientt"),
        f"{P}['patient']['model']: no installed model 'patients.Patientt'",
    ),
    "not a model label": (
        _set("image", "model", "Image"),
        f"{P}['image']['model']: no installed model 'Image'",
    ),
    "unknown field": (
        _field("size", "file_sizee"),
        f"{P}['image']['fields']['size']: images.Image has no field 'file_sizee'",
    ),
    "size not an integer": (
        _field("size", "category"),
        f"{P}['image']['fields']['size']: images.Image.category is a CharField, "
        "not IntegerField",
    ),
    "batch date a DateTimeField": (
        _set("batch", "date", "created_at"),
        f"{P}['batch']['date']: images.ImageBatch.created_at is a DateTimeField, "
        "not DateField",
    ),
    "image date a DateTimeField": (
        _field("image_date", "uploaded_at"),
        f"{P}['image']['fields']['image_date']: images.Image.uploaded_at is a "
        "DateTimeField, not DateField",
    ),
    "width not nullable": (
        _field("width", "file_size"),
        f"{P}['image']['fields']['width']: images.Image.file_size must be null=True",
    ),
    "owner not a ForeignKey": (
        _set("batch", "owner", "batch_name"),
        f"{P}['batch']['owner']: images.ImageBatch.batch_name is a CharField, "
        "not ForeignKey",
    ),
    "owner points elsewhere": (
        lambda o: o.update(patient={"model": "auth.User", "filemaker_id": "username"}),
        f"{P}['batch']['owner']: images.ImageBatch.patient points at "
        "patients.Patient.id, not auth.User.id",
    ),
    "generic owner without ContentType": (
        _set("batch", "owner", {"content_type": "patient", "object_id": "id"}),
        f"{P}['batch']['owner']['content_type']: images.ImageBatch.patient points "
        "at patients.Patient.id, not contenttypes.ContentType.id",
    ),
    "generic owner id cannot hold the patient's pk": (
        lambda o: o["batch"].update(
            model="auth.Permission",
            owner={"content_type": "content_type", "object_id": "id"},
        ),
        f"{P}['batch']['owner']['object_id']: auth.Permission.id is an integer, "
        "but patients.Patient's ids are UUIDFields",
    ),
    "JSON path too deep": (
        _set("patient", "filemaker_id", "first_name.a.b"),
        f"{P}['patient']['filemaker_id']: 'first_name.a.b': one key only",
    ),
    "image batch not a ForeignKey": (
        _set("image", "batch", "s3_key"),
        f"{P}['image']['batch']: images.Image.s3_key is a CharField, not ForeignKey",
    ),
    "reverse relation": (
        _set("batch", "name", "images"),
        f"{P}['batch']['name']: images.ImageBatch.images is not a column",
    ),
    "JSON path on a non-JSON field": (
        _set("patient", "filemaker_id", "first_name.filemaker_id"),
        f"{P}['patient']['filemaker_id']: patients.Patient.first_name is a "
        "CharField, not JSONField",
    ),
    "date of birth a DateTimeField": (
        _set("patient", "date_of_birth", "created_at"),
        f"{P}['patient']['date_of_birth']: patients.Patient.created_at is a "
        "DateTimeField, not DateField",
    ),
    "missing s3_key": (
        lambda o: o["image"]["fields"].pop("s3_key"),
        f"{P}['image']['fields']['s3_key']: is required (the image's key)",
    ),
    "missing filemaker_id": (
        lambda o: o["patient"].pop("filemaker_id"),
        f"{P}['patient']['filemaker_id']: is required",
    ),
    "missing section": (
        lambda o: o.pop("image"),
        f"{P}['image']: is required",
    ),
    "unknown fact name": (
        _field("colour", "category"),
        f"{P}['image']['fields']: unknown option 'colour'",
    ),
    "unknown option key": (
        _set("batch", "nmae", "batch_name"),
        f"{P}['batch']: unknown option 'nmae'",
    ),
    "unknown top-level key": (
        lambda o: o.update(patients={}),
        f"{P}: unknown option 'patients'",
    ),
    "counter not an integer": (
        _set("batch", "counters", ["batch_name"]),
        f"{P}['batch']['counters']: images.ImageBatch.batch_name is a CharField, "
        "not IntegerField",
    ),
    "counters not a list": (
        _set("batch", "counters", "batch_name"),
        f"{P}['batch']['counters']: must be a list of field names",
    ),
    "bad name format": (
        _set("batch", "name_format", "{month}"),
        f"{P}['batch']['name_format']: cannot format",
    ),
    "bad thumbnail": (
        _set("image", "thumbnail", "none"),
        f"{P}['image']['thumbnail']: must be 'derivative' or 'empty'",
    ),
    "unknown values field": (
        _set("batch", "values", {"source": "filemaker"}),
        f"{P}['batch']['values']['source']: images.ImageBatch has no field 'source'",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "message"), MISTAKES.values(), ids=MISTAKES)
def test_a_settings_mistake_is_one_line_naming_setting_and_field(change, message):
    with pytest.raises(TargetConfigurationError) as raised:
        ConfigurableTarget(**options(change))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


# -- through the loader -----------------------------------------------------------


@pytest.mark.django_db
def test_get_target_builds_it_from_settings(settings):
    settings.FILEMAKER_MIGRATION_TARGET = {"BACKEND": BACKEND, "OPTIONS": options()}
    assert isinstance(get_target(), ConfigurableTarget)


LOADER_MISTAKES = {
    "no BACKEND": ({"OPTIONS": {}}, "FILEMAKER_MIGRATION_TARGET['BACKEND'] is not set"),
    "unimportable": (
        {"BACKEND": "filemaker_migration.targets.nope.Target"},
        "FILEMAKER_MIGRATION_TARGET['BACKEND']: cannot import "
        "'filemaker_migration.targets.nope.Target'",
    ),
    "OPTIONS not a dict": (
        {"BACKEND": BACKEND, "OPTIONS": ["patient"]},
        "FILEMAKER_MIGRATION_TARGET['OPTIONS'] must be a dict",
    ),
    "bad OPTIONS": (
        {"BACKEND": BACKEND, "OPTIONS": options(_field("size", "file_sizee"))},
        f"{P}['image']['fields']['size']: images.Image has no field 'file_sizee'",
    ),
    "no OPTIONS": ({"BACKEND": BACKEND}, f"{P}['patient']: is required"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("config", "message"), LOADER_MISTAKES.values(), ids=LOADER_MISTAKES
)
def test_get_target_reports_a_bad_setting_in_one_line(settings, config, message):
    settings.FILEMAKER_MIGRATION_TARGET = config
    with pytest.raises(TargetConfigurationError) as raised:
        get_target()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
