"""Clinical image batches (one visit's photos) and the images in them."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from clinic.patients.models import Patient


class ImportSource(models.TextChoices):
    USER_UPLOAD = "user_upload", "User Upload"
    FILEMAKER_IMPORT = "filemaker_import", "FileMaker Import"


class ImageBatch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient, related_name="image_batches", on_delete=models.CASCADE
    )
    batch_name = models.CharField(max_length=200)
    # Empty for the "Unknown date (FileMaker Import)" batch of undated images.
    captured_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    filemaker_batch_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="FileMaker image ID (for single-image batches)",
    )
    import_source = models.CharField(
        max_length=50,
        choices=ImportSource.choices,
        default=ImportSource.USER_UPLOAD,
    )

    class Meta:
        ordering = ["-captured_date", "-created_at"]
        verbose_name_plural = "image batches"
        constraints = [
            # One imported batch per patient per visit date, and one for the
            # patient's undated images: reruns and parallel workers cannot
            # duplicate batches because the database refuses it.
            models.UniqueConstraint(
                fields=["patient", "captured_date"],
                condition=Q(import_source="filemaker_import")
                & Q(captured_date__isnull=False),
                name="one_filemaker_batch_per_patient_date",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(import_source="filemaker_import")
                & Q(captured_date__isnull=True),
                name="one_filemaker_undated_batch_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return self.batch_name


class Image(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch = models.ForeignKey(
        ImageBatch, related_name="images", on_delete=models.CASCADE
    )
    s3_key = models.CharField(max_length=500, unique=True)
    original_filename = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # The exact FileMaker Type ("Left Planter" and all), shown as the category.
    category = models.CharField(max_length=200, blank=True)

    filemaker_id = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        help_text="Original FileMaker image ID (API_Images.id)",
    )
    # null=True as in the Nexus app's existing schema (the plan's Phase 4).
    filemaker_type = models.CharField(  # noqa: DJ001
        max_length=200,
        null=True,
        blank=True,
        help_text="Original FileMaker image type",
    )
    filemaker_date = models.DateField(
        null=True,
        blank=True,
        help_text="Original image date from FileMaker",
    )

    # What the import needs to prove itself.
    content_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    container_field = models.CharField(max_length=100, blank=True)

    # JPEG derivatives (filemaker_migration.derivatives) beside the original in S3;
    # empty until made, and the gallery then shows the original.
    thumbnail_key = models.CharField(max_length=500, blank=True)
    display_key = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["category", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_filename or str(self.id)
