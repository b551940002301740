"""Read-only admin for the migration's evidence: runs, ledger, review queue.

Nothing here can be added, changed or deleted: the ledger is changed only by
filemaker_migration.ledger, and a run's record is what it did. Dates are
written one way and ids in upper case (filemaker_migration.display), and the
fields tried in words, as on the report page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.urls import reverse
from django.utils.html import format_html

from filemaker_migration import reasons
from filemaker_migration.display import date_text
from filemaker_migration.display import id_text
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import ReviewItem
from filemaker_migration.models import SpotCheck
from filemaker_migration.models import State


def date_column(field: str, description: str) -> Callable[[Any, Model], str]:
    """A column (or read-only field) showing the date field `field` the one
    way dates are written, sorted by that field."""

    @admin.display(description=description, ordering=field)
    def column(self: Any, row: Model) -> str:
        return date_text(getattr(row, field))

    return column


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        rows = model_admin.get_queryset(request)
        codes = set(rows.exclude(reason="").values_list("reason", flat=True).distinct())
        if rows.filter(state=State.IMPORTED_UNLINKED).exists():
            codes.add(reasons.PATIENT_NOT_FOUND)
        if rows.filter(reason="").exclude(image_date_raw="").exists():
            codes.add(reasons.UNREADABLE_DATE)
        return [(c, reasons.describe(c).label) for c in sorted(codes)]

    def queryset(self, request, queryset):
        if self.value() == reasons.PATIENT_NOT_FOUND:
            return queryset.filter(state=State.IMPORTED_UNLINKED)
        if self.value() == reasons.UNREADABLE_DATE:
            return queryset.filter(reason="").exclude(image_date_raw="")
        if self.value():
            return queryset.filter(reason=self.value())
        return queryset


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "command",
        "started",
        "finished",
        "status",
        "dry_run",
        "seen",
        "report",
    )
    list_filter = ("status", "dry_run", "command")

    started = date_column("started_at", "started")
    finished = date_column("finished_at", "finished")

    @admin.display(description="records")
    def seen(self, run: ImportRun) -> int | None:
        return run.totals.get("seen")

    @admin.display(description="report")
    def report(self, run: ImportRun) -> str:
        if not run.report_path:
            return "—"
        return format_html(
            '<a href="{}">report</a>', reverse("reports:run", args=[run.pk])
        )


def reason_code(entry: LedgerEntry) -> str:
    """Why an entry is worth a look, as the report page groups it."""
    code = reasons.reason_of(entry.state, entry.reason)
    if not code and entry.image_date_raw:
        return reasons.UNREADABLE_DATE
    return code


class EntryColumns:
    """Columns shared by the ledger and the review queue."""

    @admin.display(description="FileMaker id", ordering="filemaker_id")
    def fm_id(self, entry: LedgerEntry) -> str:
        return id_text(entry.filemaker_id or entry.filemaker_id_raw)

    @admin.display(description="contact id", ordering="contact_id")
    def contact(self, entry: LedgerEntry) -> str:
        return id_text(entry.contact_id)

    @admin.display(description="reason", ordering="reason")
    def reason_text(self, entry: LedgerEntry) -> str:
        code = reason_code(entry)
        return reasons.describe(code).label if code else "—"

    @admin.display(description="what to do")
    def advice(self, entry: LedgerEntry) -> str:
        code = reason_code(entry)
        return reasons.describe(code).advice if code else "—"

    @admin.display(description="detail")
    def why(self, entry: LedgerEntry) -> str:
        detail = entry.detail
        if len(detail) > 160:
            detail = detail[:159] + "…"
        tried = reasons.telling_tried(entry.fields_tried)
        return " · tried: ".join(part for part in (detail, tried) if part) or "—"

    @admin.display(description="date", ordering="image_date")
    def date(self, entry: LedgerEntry) -> str:
        if entry.image_date is None and entry.image_date_raw:
            return f"unreadable: “{entry.image_date_raw}”"
        return date_text(entry.image_date)

    @admin.display(description="fields tried")
    def tried(self, entry: LedgerEntry) -> str:
        return reasons.tried_text(entry.fields_tried) or "—"

    updated = date_column("updated_at", "updated")
    exported = date_column("exported_at", "exported to FileMaker")


# The change page: every fact, readable (no raw JSON, one date format).
ENTRY_FIELDSETS = (
    (
        None,
        {"fields": ("record_id", "fm_id", "filemaker_id_raw", "contact", "state")},
    ),
    ("Why", {"fields": ("reason_text", "advice", "detail", "tried", "last_error")}),
    ("Image", {"fields": ("image_type", "date", "container_field", "size")}),
    ("Stored", {"fields": ("s3_key", "sha256", "thumbnail_key", "display_key")}),
    ("When", {"fields": ("run", "exported", "updated", "attempts")}),
)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(EntryColumns, ReadOnlyAdmin):
    list_display = (
        "record_id",
        "fm_id",
        "contact",
        "state",
        "reason_text",
        "container_field",
        "image_type",
        "date",
        "run",
    )
    list_filter = ("state", ReasonFilter, "container_field", "run")
    search_fields = ("record_id", "filemaker_id", "contact_id", "sha256", "s3_key")
    list_per_page = 100
    fieldsets = ENTRY_FIELDSETS
    readonly_fields = [f for _, opts in ENTRY_FIELDSETS for f in opts["fields"]]


@admin.register(ReviewItem)
class ReviewQueueAdmin(EntryColumns, ReadOnlyAdmin):
    """Unlinked, skipped and failed records, each with its reason and the
    contact id that an unlinked record needs (import that contact, relink)."""

    # The reason says the state (the filter has it); the detail and the
    # fields tried say why.
    list_display = (
        "record_id",
        "fm_id",
        "contact",
        "reason_text",
        "why",
        "image_type",
        "date",
    )
    list_filter = ("state", ReasonFilter, "image_type")
    search_fields = ("record_id", "filemaker_id", "contact_id")
    list_per_page = 100
    fieldsets = ENTRY_FIELDSETS
    readonly_fields = LedgerEntryAdmin.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ReviewItem.needs_review())


@admin.register(SpotCheck)
class SpotCheckAdmin(ReadOnlyAdmin):
    list_display = ("run", "signed_by", "signed", "approved_count", "flagged_count")
    list_filter = ("run",)
    fields = (
        "run",
        "signed_by",
        "signed",
        "seed",
        "approved_ids",
        "flagged_ids",
        "note",
    )
    readonly_fields = fields

    @admin.display(description="approved FileMaker ids")
    def approved_ids(self, check: SpotCheck) -> str:
        return ", ".join(id_text(i) for i in check.approved) or "—"

    @admin.display(description="flagged FileMaker ids")
    def flagged_ids(self, check: SpotCheck) -> str:
        return ", ".join(id_text(i) for i in check.flagged) or "—"

    signed = date_column("signed_at", "signed")

    @admin.display(description="approved")
    def approved_count(self, check: SpotCheck) -> int:
        return len(check.approved)

    @admin.display(description="flagged")
    def flagged_count(self, check: SpotCheck) -> int:
        return len(check.flagged)
