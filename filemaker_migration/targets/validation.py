"""What a clinic's model would refuse, asked before a row is written.

Django does not validate on `save()`: a model's own rules (a required field,
`max_length`, choices, a UUID) hold only for forms and `full_clean()`, and the
database enforces some of them (PostgreSQL refuses a value longer than the
column, mid-run, as a DataError; SQLite stores it). A row the app's own
validation refuses breaks the app's forms and admin later, so the targets ask
`clean_fields()` first, on the fields they set only (no query: unique and
foreign-key checks are the database's and the migration's business).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import models

from filemaker_migration.targets.base import Refusal

# What a refusal says instead of the value: it may be a patient's name.
_HIDDEN = "(the value)"


def _words(error: ValidationError) -> str:
    params = dict(error.params or {})
    if "value" in params:
        params["value"] = _HIDDEN
    try:
        return str(error.message % params) if params else str(error.message)
    except (KeyError, TypeError, ValueError):
        return str(error.message)


def refusal_of(
    instance: models.Model, facts_by_field: Mapping[str, str]
) -> Refusal | None:
    """The first of `facts_by_field`'s fields (field name -> fact) that the
    instance's own field validation refuses, or None. Checks those fields
    only, and converts their values in place as `clean_fields()` does."""
    checked = set(facts_by_field)
    exclude = [f.name for f in instance._meta.fields if f.name not in checked]
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        for name, errors in exc.error_dict.items():
            fact = facts_by_field.get(name, name)
            return Refusal(
                fact=fact,
                field=f"{instance._meta.label}.{name}",
                message=" ".join(_words(error) for error in errors),
            )
    return None
