"""Plain admin for the clinic's records."""

from __future__ import annotations

from django.contrib import admin

from tests.generic_clinic.records.models import Image
from tests.generic_clinic.records.models import ImageBatch
from tests.generic_clinic.records.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "date_of_birth")
    search_fields = ("first_name", "last_name")


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ("original_name", "category", "date_taken", "s3_key", "file_size")
    readonly_fields = fields
    can_delete = False


@admin.register(ImageBatch)
class ImageBatchAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "object_id", "image_count", "created_at")
    readonly_fields = ("image_count", "created_at")
    inlines = [ImageInline]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("original_name", "category", "date_taken", "file_size")
    list_filter = ("category",)
    search_fields = ("original_name", "filemaker_id", "s3_key")
    readonly_fields = ("uploaded_at",)
