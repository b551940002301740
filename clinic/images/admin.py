"""Admin for batches and images: thumbnails through presigned URLs, provenance.

Batches and images imported from FileMaker are read-only here: the ledger,
S3 and FileMaker's export marks must change together, which only the
migration's commands do (relink, rollback, import --refresh-changed). An edit
or a delete here would leave the three disagreeing. A clinic's own uploads
stay editable.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.models import ImportSource
from clinic.images.presign import presigned_url
from filemaker_migration.display import date_text
from filemaker_migration.display import id_text

READ_ONLY_NOTE = (
    "Imported from FileMaker: read only here. Changes go through the "
    "migration's commands: relink_filemaker_images, rollback_filemaker_images, "
    "import_filemaker_images --refresh-changed."
)

PROVENANCE_FIELDS = (
    "fm_id",
    "filemaker_type",
    "fm_date",
    "container_field",
    "sha256",
    "s3_key",
    "thumbnail_key",
    "display_key",
    "file_size",
    "dimensions",
    "content_type",
    "original_filename",
    "uploaded",
)


def is_imported(batch: ImageBatch | None) -> bool:
    return batch is not None and batch.import_source == ImportSource.FILEMAKER_IMPORT


class ImportedReadOnly:
    """No change or delete for imported rows; no bulk delete at all (a
    selection could hold imported rows)."""

    def batch_of(self, obj) -> ImageBatch | None:
        raise NotImplementedError

    def has_change_permission(self, request, obj=None) -> bool:
        if is_imported(self.batch_of(obj)):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if is_imported(self.batch_of(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.display(description="thumbnail")
def thumbnail(image: Image) -> str:
    # Signed for this page view only; the bucket itself is private.
    url = presigned_url(image.thumbnail_key or image.s3_key)
    return format_html(
        '<img src="{}" alt="{}" loading="lazy" class="thumb" '
        'style="max-width:150px;max-height:150px">',
        url,
        image.category or "image",
    )


@admin.display(description="dimensions")
def dimensions(image: Image) -> str:
    if image.width and image.height:
        return f"{image.width} x {image.height}"
    return "—"


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("preview", "category", "fm_id", "container_field", "file_size")
    readonly_fields = fields

    @admin.display(description="FileMaker id")
    def fm_id(self, image: Image) -> str:
        return id_text(image.filemaker_id)

    @admin.display(description="image")
    def preview(self, image: Image) -> str:
        return thumbnail(image)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CategoryFilter(admin.SimpleListFilter):
    """Batches holding at least one image of a FileMaker Type."""

    title = "Type"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        categories = (
            Image.objects.exclude(category="")
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        )
        return [(c, c) for c in categories]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(images__category=self.value()).distinct()
        return queryset


@admin.register(ImageBatch)
class ImageBatchAdmin(ImportedReadOnly, admin.ModelAdmin):
    list_display = ("batch_name", "patient", "captured", "import_source", "count")
    list_filter = ("import_source", CategoryFilter, "captured_date")
    date_hierarchy = "captured_date"
    search_fields = (
        "batch_name",
        "patient__first_name",
        "patient__last_name",
        "patient__filemaker_id",
    )
    list_select_related = ("patient",)
    autocomplete_fields = ("patient",)
    readonly_fields = ("created_at", "filemaker_batch_id")
    inlines = (ImageInline,)

    def batch_of(self, batch):
        return batch

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_imported(obj):
            return [(None, {**fieldsets[0][1], "description": READ_ONLY_NOTE})]
        return fieldsets

    @admin.display(description="captured", ordering="captured_date")
    def captured(self, batch: ImageBatch) -> str:
        return date_text(batch.captured_date)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(image_count=Count("images"))

    @admin.display(description="images", ordering="image_count")
    def count(self, batch: ImageBatch) -> int:
        return batch.image_count


@admin.register(Image)
class ImageAdmin(ImportedReadOnly, admin.ModelAdmin):
    list_display = (
        thumbnail,
        "fm_id",
        "category",
        "batch",
        "fm_date",
        "container_field",
    )
    list_filter = (
        "batch__import_source",
        "category",
        "container_field",
        "filemaker_date",
    )
    search_fields = ("filemaker_id", "sha256", "s3_key", "original_filename")
    list_select_related = ("batch",)
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("preview", "batch", "category")}),
        ("Provenance", {"fields": PROVENANCE_FIELDS}),
    )
    readonly_fields = ("preview", "batch", *PROVENANCE_FIELDS)

    def batch_of(self, image):
        return image.batch if image is not None else None

    def get_fieldsets(self, request, obj=None):
        if is_imported(self.batch_of(obj)):
            (name, options), *rest = self.fieldsets
            return [(name, {**options, "description": READ_ONLY_NOTE}), *rest]
        return self.fieldsets

    @admin.display(description="FileMaker id", ordering="filemaker_id")
    def fm_id(self, image: Image) -> str:
        return id_text(image.filemaker_id)

    @admin.display(description="FileMaker date", ordering="filemaker_date")
    def fm_date(self, image: Image) -> str:
        return date_text(image.filemaker_date)

    @admin.display(description="uploaded", ordering="uploaded_at")
    def uploaded(self, image: Image) -> str:
        return date_text(image.uploaded_at)

    @admin.display(description="image")
    def preview(self, image: Image) -> str:
        url = presigned_url(image.display_key or image.s3_key)
        return format_html('<img src="{}" alt="" style="max-width:600px">', url)

    @admin.display(description="dimensions")
    def dimensions(self, image: Image) -> str:
        return dimensions(image)

    def has_add_permission(self, request) -> bool:
        # Images arrive through an import or an upload, with their provenance.
        return False
