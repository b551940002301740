"""The migration's own records: import runs, the per-record ledger, the run lock.

Only `filemaker_migration.ledger` changes a ledger entry's state; everything else
reads these tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Completed with failures"
    INTERRUPTED = "interrupted", "Interrupted"


class ImportRun(models.Model):
    """One invocation of a migration command, with its options and totals."""

    command = models.CharField(max_length=50, default="import_filemaker_images")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    dry_run = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True)
    totals = models.JSONField(default=dict, blank=True)
    container_usage = models.JSONField(default=dict, blank=True)
    report_path = models.CharField(max_length=500, blank=True)
    # With worker processes (pipeline/claims.py): when the pager had taken up
    # every record, whether the workers should stop taking more, and the
    # requests the run's workers may keep in flight to FileMaker together.
    paged_at = models.DateTimeField(null=True, blank=True)
    stop_requested = models.BooleanField(default=False)
    filemaker_limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"


class State(models.TextChoices):
    """Where a FileMaker record is on its way; the last four are final."""

    PENDING = "pending", "Pending"
    UPLOADED = "uploaded", "Uploaded to S3"
    PERSISTED = "persisted", "Saved in the database"
    IMPORTED = "imported", "Imported"
    IMPORTED_UNLINKED = "imported_unlinked", "Imported, patient not found"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


FINAL_STATES = (State.IMPORTED, State.IMPORTED_UNLINKED, State.SKIPPED, State.FAILED)
EXPORTED_STATES = (State.IMPORTED, State.IMPORTED_UNLINKED)


class LedgerEntry(models.Model):
    """One FileMaker image record: what the migration did with it and why."""

    # FileMaker's own record id (recordId), unique within the table.
    record_id = models.CharField(max_length=32, unique=True)
    # The record's `id` field exactly as FileMaker gave it (may be invalid) and,
    # when it is a valid UUID, its canonical upper-case form.
    filemaker_id_raw = models.CharField(max_length=200, blank=True)
    filemaker_id = models.CharField(max_length=36, blank=True, db_index=True)
    contact_id = models.CharField(max_length=36, blank=True, db_index=True)
    image_type = models.CharField(max_length=200, blank=True)
    image_date = models.DateField(null=True, blank=True)
    # The date field's text when it holds something that is not a date
    # ("13/45/2020", "yesterday"): image_date is then empty, as for an empty
    # field (the image goes to unknown-date), and this tells the two apart.
    image_date_raw = models.CharField(
        "unreadable date", max_length=200, blank=True, default=""
    )
    mod_id = models.CharField(max_length=32, blank=True)
    modified_at_source = models.CharField(max_length=40, blank=True)

    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    reason = models.CharField(max_length=64, blank=True)
    detail = models.TextField(blank=True)

    container_field = models.CharField(max_length=100, blank=True)
    fields_tried = models.JSONField(default=list, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    s3_key = models.CharField(max_length=500, blank=True)
    # The gallery's JPEGs beside the original (linked images only); the
    # display key is the original's own when it needs no re-encoding.
    thumbnail_key = models.CharField(max_length=500, blank=True)
    display_key = models.CharField(max_length=500, blank=True)
    original_filename = models.CharField(max_length=1024, blank=True)

    # The clinic's rows this record became, by their target refs (str(pk)):
    # the patient that decided the key ("" while unlinked) and the image row
    # created in the same transaction as this entry's persisted state. Plain
    # strings, not foreign keys: the migration ships no migration that
    # depends on the clinic's tables.
    patient_ref = models.CharField(max_length=64, blank=True, db_index=True)
    image_ref = models.CharField(max_length=64, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    run = models.ForeignKey(
        ImportRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entries",
    )
    # Facts that let a rerun skip finished steps: when the object was stored,
    # when the database rows were committed, when FileMaker was told (and the
    # record's modId after that write, to notice later edits).
    uploaded_at = models.DateTimeField(null=True, blank=True)
    persisted_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    exported_mod_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "ledger entries"
        constraints = [
            # One image row per FileMaker record, whatever the clinic's
            # image table constrains.
            models.UniqueConstraint(
                fields=["image_ref"],
                condition=~models.Q(image_ref=""),
                name="one_ledger_entry_per_image_row",
            )
        ]

    def __str__(self) -> str:
        return f"FileMaker record {self.record_id} ({self.state})"


class VisitBatch(models.Model):
    """The clinic's batch that holds a patient's imported images of one visit.

    The clinic's batch table may have no date column and no unique constraint;
    this table carries both, so reruns and parallel workers never create a
    second batch for the same patient and date.
    """

    patient_ref = models.CharField(max_length=64)
    # ISO date of the visit, "" for the patient's undated images (a string,
    # so that the unique constraint also holds for them: NULLs never clash).
    visit = models.CharField(max_length=10, blank=True)
    batch_ref = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient_ref", "visit"], name="one_batch_per_patient_visit"
            )
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_ref} ({self.visit or 'unknown date'})"


class ImageVersion(models.Model):
    """An earlier version of an imported image, kept when FileMaker's changed.

    A record edited in FileMaker after its export is imported again (import
    --refresh-changed) under a versioned key; the image row then points at the
    newest object and each version it replaced is kept here, object and all.
    Keyed by the FileMaker id, so the history of an unlinked image (which has
    no image row) is kept the same way.
    """

    filemaker_id = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField()
    s3_key = models.CharField(max_length=500, unique=True)
    file_size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, blank=True)
    container_field = models.CharField(max_length=100, blank=True)
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filemaker_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["filemaker_id", "version"],
                name="filemaker_one_row_per_image_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.filemaker_id} v{self.version}"


class RunLock(models.Model):
    """At most one row per name: the run that currently owns the migration."""

    name = models.CharField(max_length=50, unique=True)
    run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL)
    owner = models.CharField(max_length=200)
    acquired_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner}"


class ReviewItem(LedgerEntry):
    """The ledger's review queue: records that did not become a patient's image,
    and images filed under "unknown date" because their date was unreadable."""

    REVIEW_STATES = (State.IMPORTED_UNLINKED, State.SKIPPED, State.FAILED)

    class Meta:
        proxy = True
        verbose_name = "review queue entry"
        verbose_name_plural = "review queue"

    @classmethod
    def needs_review(cls) -> models.Q:
        """The queue's filter: a review state, or a date kept only as text."""
        return models.Q(state__in=cls.REVIEW_STATES) | ~models.Q(image_date_raw="")


class SpotCheck(models.Model):
    """A clinician's sign-off of a run's contact sheet (see spotcheck.py)."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="+")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_at = models.DateTimeField(auto_now_add=True)
    seed = models.IntegerField()
    # FileMaker ids of the sample, split by the clinician's verdict.
    approved = models.JSONField(default=list)
    flagged = models.JSONField(default=list)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"Spot check of run {self.run_id}"


class RunWorker(models.Model):
    """A worker process of a run, on this host or another (pipeline/claims.py).

    Its heartbeat is its lease: the records it holds go back to the others
    when the heartbeat stops, or at once when its process is seen dead.
    """

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="workers")
    owner = models.CharField(max_length=100, unique=True)  # host:pid:nonce
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)  # ended, or found gone
    lost = models.BooleanField(default=False)  # found gone: its records went back
    records = models.PositiveIntegerField(default=0)
    filemaker_bytes = models.BigIntegerField(default=0)
    cpu_seconds = models.JSONField(default=dict, blank=True)  # pipeline/cpu.py

    def __str__(self) -> str:
        return f"worker {self.owner} of run {self.run_id}"


class WorkItem(models.Model):
    """A record the run's pager took up, for a worker process to finish."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="work")
    entry = models.ForeignKey(LedgerEntry, on_delete=models.CASCADE)
    recid = models.BigIntegerField()
    patient_ref = models.CharField(max_length=64, blank=True)
    owner = models.CharField(max_length=100, blank=True, db_index=True)
    outcome = models.JSONField(null=True, blank=True)  # the report's line
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "entry"], name="one_item_per_record")
        ]

    def __str__(self) -> str:
        return f"record {self.entry_id} of run {self.run_id}"
