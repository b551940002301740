"""A clinic's own records, as an app that predates the migration keeps them."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Patient(models.Model):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    # Whatever other systems know about the patient; the FileMaker contact id
    # is filemaker_metadata["filemaker_id"].
    filemaker_metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or str(self.pk)


class ImageBatch(models.Model):
    # Batches belong to patients (or, in the clinic's app, to other things).
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    owner = GenericForeignKey("content_type", "object_id")
    name = models.CharField(max_length=200)
    image_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "image batches"
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    batch = models.ForeignKey(
        ImageBatch, related_name="images", on_delete=models.CASCADE
    )
    s3_key = models.CharField(max_length=500, unique=True)
    s3_thumbnail_key = models.CharField(max_length=500, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    date_taken = models.DateField(null=True, blank=True)
    category = models.CharField(max_length=200, blank=True)
    # null=True so that the clinic's own uploads (no FileMaker id) stay unique.
    filemaker_id = models.CharField(max_length=36, unique=True, null=True, blank=True)
    order = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name or str(self.pk)
