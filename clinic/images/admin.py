"""Admin for batches and images: thumbnails through presigned URLs, provenance."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.presign import presigned_url

PROVENANCE_FIELDS = (
    "filemaker_id",
    "filemaker_type",
    "filemaker_date",
    "container_field",
    "sha256",
    "s3_key",
    "thumbnail_key",
    "display_key",
    "file_size",
    "dimensions",
    "content_type",
    "original_filename",
    "uploaded_at",
)


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
    fields = ("preview", "category", "filemaker_id", "container_field", "file_size")
    readonly_fields = fields

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
class ImageBatchAdmin(admin.ModelAdmin):
    list_display = ("batch_name", "patient", "captured_date", "import_source", "count")
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(image_count=Count("images"))

    @admin.display(description="images", ordering="image_count")
    def count(self, batch: ImageBatch) -> int:
        return batch.image_count


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = (
        thumbnail,
        "filemaker_id",
        "category",
        "batch",
        "filemaker_date",
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
