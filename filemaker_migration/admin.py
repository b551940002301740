"""Read-only admin for the migration's evidence: runs, ledger, review queue.

Nothing here can be added, changed or deleted: the ledger is changed only by
filemaker_migration.ledger, and a run's record is what it did.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import ReviewItem
from filemaker_migration.models import SpotCheck


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
        reasons = (
            model_admin.get_queryset(request)
            .exclude(reason="")
            .order_by("reason")
            .values_list("reason", flat=True)
            .distinct()
        )
        return [(r, r) for r in reasons]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(reason=self.value())
        return queryset


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "command",
        "started_at",
        "finished_at",
        "status",
        "dry_run",
        "seen",
        "report",
    )
    list_filter = ("status", "dry_run", "command")

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


LEDGER_LIST = (
    "record_id",
    "filemaker_id",
    "state",
    "reason",
    "container_field",
    "image_type",
    "image_date",
    "run",
)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = LEDGER_LIST
    list_filter = ("state", ReasonFilter, "container_field", "run")
    search_fields = ("record_id", "filemaker_id", "contact_id", "sha256", "s3_key")
    list_per_page = 100


@admin.register(ReviewItem)
class ReviewQueueAdmin(ReadOnlyAdmin):
    """Unlinked, skipped and failed records, each with its reason."""

    list_display = (
        "record_id",
        "filemaker_id",
        "state",
        "reason",
        "detail",
        "image_type",
        "image_date",
    )
    list_filter = ("state", ReasonFilter, "image_type")
    search_fields = ("record_id", "filemaker_id", "contact_id")
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).filter(state__in=ReviewItem.REVIEW_STATES)


@admin.register(SpotCheck)
class SpotCheckAdmin(ReadOnlyAdmin):
    list_display = ("run", "signed_by", "signed_at", "approved_count", "flagged_count")
    list_filter = ("run",)

    @admin.display(description="approved")
    def approved_count(self, check: SpotCheck) -> int:
        return len(check.approved)

    @admin.display(description="flagged")
    def flagged_count(self, check: SpotCheck) -> int:
        return len(check.flagged)
