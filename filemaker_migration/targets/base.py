"""What a target must do: the one door from the migration to the clinic's models.

The migration owns its bookkeeping (the ledger, runs, the run lock, versions,
the visit-batch map); everything it puts into the clinic's own tables goes
through a `Target`. A target is chosen in settings by a dotted path:

    FILEMAKER_MIGRATION_TARGET = {
        "BACKEND": "filemaker_migration.targets.configurable.ConfigurableTarget",
        "OPTIONS": {...},  # passed to the constructor as keyword arguments
    }

References. Rows are named by *refs*: the row's primary key as a string
(`str(pk)`). A patient's ref also names its folder in S3, so it must be made
of letters, digits and '-' (integers and UUIDs are).

Transactions. The migration calls the writing methods (`create_batch`,
`create_image`, `update_image`, `delete_image`, `delete_batch`) inside its own
`transaction.atomic()` block, together with the ledger's change, on the
default database: a target must not open connections of its own or commit.
Uniqueness is the migration's business, not the target's: one batch per
patient and date is kept by the migration's `VisitBatch` table, one image row
per FileMaker record by the ledger's `image_ref`. A target only creates what
it is asked to.

Facts a target's tables have no column for are kept in the ledger only; a
target never fails because it cannot store one.

Validation. A target never stores a row its model's own field validation
(`Model.clean_fields()`: required, `max_length`, choices, UUIDs) would refuse:
`refusal()` says beforehand what it would refuse of a record's facts (the
import parks such a record before downloading it), and the writing methods
raise `RowRefusedError` rather than write one.

Batches. Every write into a batch happens while the migration holds a lock
on that batch's `VisitBatch` row (taken first in the transaction), so a
clinic's `save()` or signal that recounts or renumbers the batch's images
sees every other write into it committed, with any number of processes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from typing import Any
from typing import Protocol
from typing import runtime_checkable

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ImageFacts:
    """Everything the import knows about one image, for its row."""

    filemaker_id: str  # canonical upper-case UUID
    s3_key: str
    size: int
    sha256: str
    content_type: str
    width: int | None
    height: int | None
    container_field: str  # the FileMaker container the bytes came from
    thumbnail_key: str  # the gallery's JPEG thumbnail beside the original
    display_key: str  # the display JPEG, or the original's own key
    image_type: str  # FileMaker's Type, exactly (the category)
    image_date: dt.date | None
    original_filename: str
    order: int  # FileMaker's record order (its recordId)


# The facts an update may change (refresh: a new version, a new Type).
FACT_NAMES = tuple(f.name for f in fields(ImageFacts))


@dataclass(frozen=True)
class ImageRow:
    """One image row as the target holds it (for verify and rollback).

    A fact the target does not store reads as None.
    """

    ref: str
    batch_ref: str
    s3_key: str
    filemaker_id: str | None
    size: int | None
    sha256: str | None
    image_type: str | None


@dataclass(frozen=True)
class BatchRow:
    """One batch row and whose it is (its visit date is in the migration's
    `VisitBatch` map, since a clinic's batch may have no date column)."""

    ref: str
    patient_ref: str
    name: str
    image_count: int  # counted from the image rows
    # The batch's own counters of its images, as stored (field -> value):
    # verify holds each to image_count.
    counters: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PatientFacts:
    """A FileMaker contact, for `import_filemaker_patients`."""

    contact_id: str  # canonical upper-case UUID
    first_name: str
    last_name: str
    date_of_birth: dt.date | None


@dataclass(frozen=True)
class Refusal:
    """What a clinic model's own validation refuses of a fact (no values)."""

    fact: str  # the migration's name: "original_filename", "first_name", ...
    field: str  # the model field: "records.Image.original_name"
    message: str  # Django's words, values left out

    def __str__(self) -> str:
        return f"{self.field} refuses it: {self.message}"


@runtime_checkable
class Target(Protocol):
    """The clinic's patients, visit batches and images, as the migration sees them."""

    # -- patients --------------------------------------------------------------

    def patients_by_contact(self, contact_ids: Iterable[str]) -> dict[str, str]:
        """Patient refs by upper-case FileMaker contact id, for those that exist.

        Called once per page of records: one query, not one per id.
        """
        ...

    def contact_ids(self) -> set[str]:
        """Every upper-case FileMaker contact id the clinic's patients carry."""
        ...

    def save_patient(self, patient: PatientFacts) -> str:
        """Create or update the contact's patient; "created", "updated" or
        "unchanged". Only `import_filemaker_patients` calls it. Raises
        RowRefusedError (writing nothing) when the patient model would refuse
        the row, e.g. an empty name in a required field."""
        ...

    # -- batches ---------------------------------------------------------------

    def create_batch(self, patient_ref: str, date: dt.date | None) -> str:
        """A new imported batch for the patient's visit on `date` (None: the
        undated images); its ref. Never looks for an existing one."""
        ...

    def delete_batch(self, batch_ref: str) -> None:
        """Remove a batch the rollback has emptied."""
        ...

    def batch_image_count(self, batch_ref: str) -> int:
        """How many image rows the batch holds (any origin, not only ours)."""
        ...

    # -- images ----------------------------------------------------------------

    def refusal(self, facts: dict[str, Any]) -> Refusal | None:
        """What the image model would refuse of these facts (any of
        FACT_NAMES, the others not yet known), or None. No query."""
        ...

    def create_image(self, batch_ref: str, facts: ImageFacts) -> str:
        """A new image row in the batch; its ref. Raises RowRefusedError
        (writing nothing) when the image model would refuse the row."""
        ...

    def update_image(self, image_ref: str, changes: dict[str, Any]) -> None:
        """Change some facts of an image row (keys from FACT_NAMES)."""
        ...

    def delete_image(self, image_ref: str) -> None:
        """Remove an image row (rollback); a missing row is not an error."""
        ...

    def image(self, image_ref: str) -> ImageRow | None:
        """One image row, or None when it is gone."""
        ...

    def images(self) -> Iterator[ImageRow]:
        """Every image row the clinic has whose key is one of the migration's
        (any row may be listed: verify keeps those under the key prefix)."""
        ...

    def batches(self) -> Iterator[BatchRow]:
        """Every batch row the migration could have created."""
        ...


class TargetConfigurationError(ImproperlyConfigured):
    """A target's settings are wrong: one line naming the setting and field."""


class RowRefusedError(ValueError):
    """The clinic's model would refuse the row: nothing was written."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal
