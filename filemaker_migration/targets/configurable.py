"""A target for an existing clinic app, described entirely by settings.

It imports none of the clinic's models: it names them by label and finds them
with `apps.get_model` when the target is built (at first use, when the app
registry is ready). Every option is checked then, so that a mistake stops the
command at once with one line naming the setting and the field.

    FILEMAKER_MIGRATION_TARGET = {
        "BACKEND": "filemaker_migration.targets.configurable.ConfigurableTarget",
        "OPTIONS": {
            "patient": {"model": ..., "filemaker_id": "<field>" or
                        "<JSONField>.<key>", "first_name": ..., ...},
            "batch": {"model": ..., "owner": "<ForeignKey to the patient>" or
                      {"content_type": ..., "object_id": ...}, "name": ...,
                      "name_format": ..., "undated_name": ..., "date": ...,
                      "values": {...}, "counters": [...]},
            "image": {"model": ..., "batch": "<ForeignKey to the batch>",
                      "fields": {<fact>: <field>, ...}, "thumbnail":
                      "derivative" or "empty", "values": {...}},
        },
    }

docs/own-project.md explains every option with
a complete example, which tests/generic_clinic/settings.py runs. Types are
checked: size, width, height, order and counters are integer fields (width,
height and image_date nullable); image_date, a batch's date and date_of_birth
DateFields; filemaker_id a text or UUID field (a UUIDField gets a uuid.UUID);
the other facts text fields. Rows are checked against the model's own field
validation first (validation.py), then written with `save()` (the clinic's
save() and signals run), changed with update() (they do not), and deleted
with the instance's `delete()` (the clinic's delete() and signals run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Count
from django.db.models import F
from django.db.models.functions import Greatest

from filemaker_migration.targets import SETTING
from filemaker_migration.targets.base import FACT_NAMES
from filemaker_migration.targets.base import BatchRow
from filemaker_migration.targets.base import ImageFacts
from filemaker_migration.targets.base import ImageRow
from filemaker_migration.targets.base import PatientFacts
from filemaker_migration.targets.base import Refusal
from filemaker_migration.targets.base import RowRefusedError
from filemaker_migration.targets.base import TargetConfigurationError
from filemaker_migration.targets.validation import refusal_of

_KEYS = {
    "patient": {"model", "filemaker_id", "first_name", "last_name", "date_of_birth"}
    | {"empty_name"},
    "batch": {"model", "owner", "name", "name_format", "undated_name", "date"}
    | {"values", "counters"},
    "image": {"model", "batch", "fields", "thumbnail", "values"},
}
_TEXT = (models.CharField, models.TextField)
_FACT_KINDS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("size", "width", "height", "order"), (models.IntegerField,)),
    "image_date": (models.DateField,),
    "filemaker_id": (*_TEXT, models.UUIDField),
}
_NULLABLE_FACTS = {"width", "height", "image_date"}  # None when FileMaker lacks it
# The facts an ImageRow reports (its fields are named after them).
_ROW_FACTS = tuple(f.name for f in fields(ImageRow) if f.name in FACT_NAMES)

Keys = tuple[str, ...]


def _fail(keys: Keys, message: str) -> TargetConfigurationError:
    path = "".join(f"[{key!r}]" for key in keys)
    return TargetConfigurationError(f"{SETTING}['OPTIONS']{path}: {message}")


def _dict(keys: Keys, value: Any, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(keys, "is required" if value is None else "must be a dict")
    for key in value:
        if key not in allowed:
            raise _fail(keys, f"unknown option {key!r} (known: {sorted(allowed)})")
    return value


def _model(keys: Keys, label: Any) -> type[models.Model]:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError, TypeError, AttributeError):
        raise _fail((*keys, "model"), f"no installed model {label!r}") from None


def _field(keys: Keys, model: type[models.Model], name: Any, *kinds: type) -> Any:
    """The concrete field `name` of `model`, of one of `kinds` (if any)."""
    label = model._meta.label
    try:
        field = model._meta.get_field(name)
    except (FieldDoesNotExist, TypeError):
        raise _fail(keys, f"{label} has no field {name!r}") from None
    if not getattr(field, "concrete", False):  # a reverse relation, a GenericFK
        raise _fail(keys, f"{label}.{name} is not a column")
    # A DateTimeField is a DateField, but a visit date is a date: no time zone.
    datetime = models.DateField in kinds and isinstance(field, models.DateTimeField)
    if kinds and (datetime or not isinstance(field, kinds)):
        wanted = " or ".join(kind.__name__ for kind in kinds)
        raise _fail(keys, f"{label}.{name} is a {type(field).__name__}, not {wanted}")
    return field


def _foreign_key(
    keys: Keys, model: type[models.Model], name: Any, to: type[models.Model]
) -> Any:
    # Refs are primary keys, so the key must point at the other model's pk.
    field = _field(keys, model, name, models.ForeignKey)
    if field.related_model is not to or field.target_field != to._meta.pk:
        raise _fail(
            keys,
            f"{model._meta.label}.{name} points at {field.related_model._meta.label}"
            f".{field.target_field.name}, not {to._meta.label}.{to._meta.pk.name}",
        )
    return field


def _values(keys: Keys, model: type[models.Model], value: Any) -> dict[str, Any]:
    value = {} if value is None else value
    for name in _dict(keys, value, value):  # any key, as long as it is a field
        _field((*keys, name), model, name)
    return dict(value)


class ConfigurableTarget:
    """The Target protocol over a clinic's own models, named in OPTIONS."""

    def __init__(self, **options: Any) -> None:
        _dict((), options, _KEYS)
        for part, allowed in _KEYS.items():
            _dict((part,), options.get(part), allowed)
        self._patient_options(options["patient"])
        self._batch_options(options["batch"])
        self._image_options(options["image"])

    def _patient_options(self, opts: dict[str, Any]) -> None:
        self.patient_model = model = _model(("patient",), opts.get("model"))
        keys = ("patient", "filemaker_id")
        spec = opts.get("filemaker_id")
        if not isinstance(spec, str) or not spec:
            raise _fail(keys, "is required: a field, or '<JSONField>.<key>'")
        self._id_column, _, self._json_key = spec.partition(".")
        if "." in self._json_key:
            raise _fail(keys, f"{spec!r}: one key only, '<JSONField>.<key>'")
        kinds = (models.JSONField,) if self._json_key else (*_TEXT, models.UUIDField)
        _field(keys, model, self._id_column, *kinds)
        self._id_lookup = spec.replace(".", "__")
        self._patient_fields: dict[str, str] = {}
        for fact in ("first_name", "last_name", "date_of_birth"):
            if opts.get(fact) is not None:
                kind = (models.DateField,) if fact == "date_of_birth" else _TEXT
                _field(("patient", fact), model, opts[fact], *kind)
                self._patient_fields[fact] = opts[fact]
        # Filled into an empty first or last name, for a model that requires
        # names; unset, such a contact is refused (docs/own-project.md, the options).
        self._empty_name = opts.get("empty_name")
        if self._empty_name is not None and (
            not isinstance(self._empty_name, str) or not self._empty_name.strip()
        ):
            raise _fail(("patient", "empty_name"), "must be a non-empty string")

    def _batch_options(self, opts: dict[str, Any]) -> None:
        self.batch_model = model = _model(("batch",), opts.get("model"))
        owner, keys = opts.get("owner"), ("batch", "owner")
        # The ForeignKey to the patient, or a generic relation's two columns:
        # either way `_owner` is the column holding the patient's pk.
        self._owner_ct: str | None = None
        if isinstance(owner, dict):
            _dict(keys, owner, ("content_type", "object_id"))
            self._owner_ct = owner.get("content_type")
            _foreign_key((*keys, "content_type"), model, self._owner_ct, ContentType)
            self._owner = _field((*keys, "object_id"), model, owner.get("object_id"))
            pk = self.patient_model._meta.pk
            if isinstance(self._owner, models.IntegerField) and not isinstance(
                pk, models.IntegerField
            ):
                raise _fail(
                    (*keys, "object_id"),
                    f"{model._meta.label}.{self._owner.name} is an integer, but "
                    f"{self.patient_model._meta.label}'s ids are {type(pk).__name__}s",
                )
        elif owner is None:
            raise _fail(keys, "is required: the ForeignKey to the patient model")
        else:
            self._owner = _foreign_key(keys, model, owner, self.patient_model)
        self._name, self._date = opts.get("name"), opts.get("date")
        if self._name is not None:
            _field(("batch", "name"), model, self._name, *_TEXT)
        if self._date is not None:
            _field(("batch", "date"), model, self._date, models.DateField)
        self._name_format = opts.get(
            "name_format", "{day} {date:%b %Y} (FileMaker Import)"
        )
        self._undated_name = opts.get("undated_name", "Unknown date (FileMaker Import)")
        try:
            self.batch_name(dt.date(2016, 10, 18))
        except Exception as exc:  # any mistake in the format string
            raise _fail(("batch", "name_format"), f"cannot format: {exc!r}") from None
        self._batch_values = _values(("batch", "values"), model, opts.get("values"))
        self._counters: list[str] = opts.get("counters") or []
        if not isinstance(self._counters, list | tuple):
            raise _fail(("batch", "counters"), "must be a list of field names")
        for counter in self._counters:
            _field(("batch", "counters"), model, counter, models.IntegerField)
        # The counts verify holds to the rows: ours, and an `image_count` the
        # app may keep itself (in save() or a signal).
        self._checked_counters = list(self._counters)
        with contextlib.suppress(TargetConfigurationError):
            if "image_count" not in self._checked_counters:
                _field((), model, "image_count", models.IntegerField)
                self._checked_counters.append("image_count")

    def _image_options(self, opts: dict[str, Any]) -> None:
        self.image_model = model = _model(("image",), opts.get("model"))
        keys = ("image", "batch")
        batch = _foreign_key(keys, model, opts.get("batch"), self.batch_model)
        self._batch_column = batch.attname
        mapping = _dict(("image", "fields"), opts.get("fields"), FACT_NAMES)
        if "s3_key" not in mapping:
            raise _fail(("image", "fields", "s3_key"), "is required (the image's key)")
        self._fields: dict[str, models.Field] = {}
        for fact, name in mapping.items():
            at = ("image", "fields", fact)
            field = _field(at, model, name, *_FACT_KINDS.get(fact, _TEXT))
            if fact in _NULLABLE_FACTS and not field.null:
                raise _fail(at, f"{model._meta.label}.{name} must be null=True")
            self._fields[fact] = field
        self._thumbnail = opts.get("thumbnail", "derivative")
        if self._thumbnail not in ("derivative", "empty"):
            raise _fail(("image", "thumbnail"), "must be 'derivative' or 'empty'")
        self._image_values = _values(("image", "values"), model, opts.get("values"))
        self._row_facts = [fact for fact in _ROW_FACTS if fact in self._fields]
        stored = [self._fields[fact].attname for fact in self._row_facts]
        self._row_columns = ["pk", self._batch_column, *stored]

    # -- patients --------------------------------------------------------------

    def _patients(self) -> models.QuerySet:
        return self.patient_model._default_manager.all()

    def _matching(self, contact_ids: Iterable[str]) -> models.QuerySet:
        # Stored upper-case, but an id the clinic typed in lower case must match.
        wanted = {contact.upper() for contact in contact_ids if contact}
        wanted |= {contact.lower() for contact in wanted}
        return self._patients().filter(**{f"{self._id_lookup}__in": sorted(wanted)})

    def patients_by_contact(self, contact_ids: Iterable[str]) -> dict[str, str]:
        rows = self._matching(contact_ids).values_list(self._id_lookup, "pk")
        return {str(contact).upper(): str(pk) for contact, pk in rows}

    def contact_ids(self) -> set[str]:
        rows = self._patients().values_list(self._id_lookup, flat=True)
        return {str(contact).upper() for contact in rows.iterator() if contact}

    def save_patient(self, patient: PatientFacts) -> str:
        contact = patient.contact_id.upper()
        values = {
            f: self._patient_value(patient, fact)
            for fact, f in self._patient_fields.items()
        }
        row = self._matching([contact]).first()
        created = row is None
        if row is None:
            row = self.patient_model()
        elif self._stored_id(row) == contact and all(
            getattr(row, field) == value for field, value in values.items()
        ):
            return "unchanged"
        for field, value in values.items():
            setattr(row, field, value)
        if self._json_key:
            # Merge the key in: the clinic's other keys in this column stay.
            document = getattr(row, self._id_column)
            document = document if isinstance(document, dict) else {}
            setattr(row, self._id_column, {**document, self._json_key: contact})
        else:
            setattr(row, self._id_column, contact)
        checked = {field: fact for fact, field in self._patient_fields.items()}
        if refused := refusal_of(row, checked):
            raise RowRefusedError(refused)
        row.save()
        return "created" if created else "updated"

    def _patient_value(self, patient: PatientFacts, fact: str) -> Any:
        value = getattr(patient, fact)
        if self._empty_name and fact in ("first_name", "last_name") and not value:
            return self._empty_name
        return value

    def _stored_id(self, row: models.Model) -> str:
        value = getattr(row, self._id_column)
        if self._json_key:
            value = value.get(self._json_key) if isinstance(value, dict) else None
        return str(value)

    # -- batches ---------------------------------------------------------------

    def batch_name(self, date: dt.date | None) -> str:
        if date is None:
            return str(self._undated_name)
        return str(self._name_format).format(date=date, day=date.day)

    def _patient_type(self) -> ContentType:
        return ContentType.objects.get_for_model(self.patient_model)

    def create_batch(self, patient_ref: str, date: dt.date | None) -> str:
        values = dict(self._batch_values)
        if self._owner_ct is not None:
            values[self._owner_ct] = self._patient_type()
        # The column's own type (an integer, a UUID or text) from the str ref.
        values[self._owner.attname] = self._owner.to_python(patient_ref)
        if self._name is not None:
            values[self._name] = self.batch_name(date)
        if self._date is not None:
            values[self._date] = date
        return str(self.batch_model._default_manager.create(**values).pk)

    def delete_batch(self, batch_ref: str) -> None:
        self.batch_model._default_manager.filter(pk=batch_ref).delete()

    def batch_image_count(self, batch_ref: str) -> int:
        return self._images().filter(**{self._batch_column: batch_ref}).count()

    def batches(self) -> Iterator[BatchRow]:
        # Counted from the image rows (one grouped query), not the counters.
        per_batch = self._images().order_by().values(self._batch_column)
        counts = dict(
            per_batch.annotate(n=Count("pk")).values_list(self._batch_column, "n")
        )
        rows = self.batch_model._default_manager.order_by("pk")
        if self._owner_ct is None:
            rows = rows.exclude(**{f"{self._owner.attname}__isnull": True})
        else:
            rows = rows.filter(**{self._owner_ct: self._patient_type()})
        named = [self._name] if self._name else []
        columns = ["pk", self._owner.attname, *named, *self._checked_counters]
        for pk, owner, *rest in rows.values_list(*columns).iterator(chunk_size=2000):
            name, stored = rest[: len(named)], rest[len(named) :]
            yield BatchRow(
                ref=str(pk),
                patient_ref=str(owner),
                name=name[0] if name else "",
                image_count=counts.get(pk, 0),
                counters=dict(zip(self._checked_counters, stored, strict=True)),
            )

    def set_counters(self, batch_ref: str, values: dict[str, int]) -> None:
        """Set counts the batch keeps (repair), with update(): no save()."""
        rows = self.batch_model._default_manager.filter(pk=batch_ref)
        rows.update(**values)

    def _count(self, batch_ref: Any, step: int) -> None:
        if self._counters:
            # Never below zero: the clinic's counter may have been off already.
            changes = {c: Greatest(F(c) + step, 0) for c in self._counters}
            self.batch_model._default_manager.filter(pk=batch_ref).update(**changes)

    # -- images ----------------------------------------------------------------

    def _images(self) -> models.QuerySet:
        return self.image_model._default_manager.all()

    def _columns(self, facts: dict[str, Any]) -> dict[str, Any]:
        columns: dict[str, Any] = {}
        for fact, value in facts.items():
            field = self._fields.get(fact)
            if field is None or (
                fact == "thumbnail_key" and self._thumbnail == "empty"
            ):
                continue  # kept in the ledger only
            if isinstance(field, models.UUIDField) and isinstance(value, str):
                value = uuid.UUID(value)
            columns[field.attname] = value
        return columns

    def _facts_by_field(self, facts: Iterable[str]) -> dict[str, str]:
        return {
            self._fields[fact].name: fact
            for fact in facts
            if fact in self._fields
            and not (fact == "thumbnail_key" and self._thumbnail == "empty")
        }

    def refusal(self, facts: dict[str, Any]) -> Refusal | None:
        try:
            columns = self._columns(facts)
        except ValueError:  # not a UUID: the id field's own words below
            columns = {}
        image = self.image_model(**{**self._image_values, **columns})
        return refusal_of(image, self._facts_by_field(facts))

    def create_image(self, batch_ref: str, facts: ImageFacts) -> str:
        columns = {**self._image_values, **self._columns(facts.__dict__)}
        columns[self._batch_column] = self.batch_model._meta.pk.to_python(batch_ref)
        image = self.image_model(**columns)
        checked = self._facts_by_field(facts.__dict__)
        checked.update(dict.fromkeys(self._image_values, "values"))
        if refused := refusal_of(image, checked):
            raise RowRefusedError(refused)
        # As the default manager's create() does: the clinic's save() runs.
        image.save(force_insert=True, using=self._images().db)
        self._count(batch_ref, +1)
        return str(image.pk)

    def update_image(self, image_ref: str, changes: dict[str, Any]) -> None:
        if columns := self._columns(changes):
            self._images().filter(pk=image_ref).update(**columns)

    def delete_image(self, image_ref: str) -> None:
        # The instance's delete(), not the queryset's: the clinic's own
        # delete() (a recount, a file clean-up) runs as for a delete in its app.
        image = self._images().filter(pk=image_ref).first()
        if image is not None:
            batch_ref = getattr(image, self._batch_column)
            image.delete()
            self._count(batch_ref, -1)

    def image(self, image_ref: str) -> ImageRow | None:
        rows = self._images().filter(pk=image_ref).values_list(*self._row_columns)
        values = rows.first()
        return None if values is None else self._row(values)

    def images(self) -> Iterator[ImageRow]:
        rows = self._images().order_by("pk").values_list(*self._row_columns)
        for values in rows.iterator(chunk_size=2000):
            yield self._row(values)

    def _row(self, values: tuple[Any, ...]) -> ImageRow:
        pk, batch_id, *stored = values
        facts: dict[str, Any] = dict.fromkeys(_ROW_FACTS)
        facts.update(zip(self._row_facts, stored, strict=True))
        fm_id = facts.pop("filemaker_id")
        return ImageRow(
            ref=str(pk),
            batch_ref=str(batch_id),
            filemaker_id=str(fm_id).upper() if fm_id else None,
            **facts,
        )
