"""A clinic's own records, shaped as a real clinic app keeps them.

Not the migration's convenient shape: UUID primary keys everywhere, batches
owned through a generic relation whose `object_id` is a UUID, required names,
a nullable JSON column that holds the FileMaker contact id, a UUID FileMaker
image id, table names and default orderings of the app's own, and an
`Image.save()` / `delete()` that recount the batch's `image_count` from the
rows, as such apps do. That recount reads the batch's rows, so it only ends
right if writes into one batch are serialized (the migration takes a lock on
the batch for that: pipeline/persist.py).
"""

from __future__ import annotations

import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Patient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    # Whatever other systems know about the patient; the FileMaker contact id
    # is filemaker_metadata["filemaker_id"]. Null for patients made in the app.
    filemaker_metadata = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "clinic_patient"
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ImageBatch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Batches belong to patients (or, in the clinic's app, to other things).
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.UUIDField()
    owner = GenericForeignKey("content_type", "object_id")
    name = models.CharField(max_length=200)
    image_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "clinic_image_batch"
        ordering = ["-created_at"]
        verbose_name_plural = "image batches"
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return self.name

    def recount(self) -> None:
        self.image_count = self.images.count()
        self.save(update_fields=["image_count"])


class Image(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
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
    filemaker_id = models.UUIDField(unique=True, null=True, blank=True)
    order = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "clinic_image"
        ordering = ["order", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name or str(self.pk)

    # The app keeps its batch's count itself, by counting rows: right only
    # when no other transaction writes into the same batch meanwhile.
    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self.batch.recount()

    def delete(self, *args, **kwargs):
        batch = self.batch
        deleted = super().delete(*args, **kwargs)
        batch.recount()
        return deleted
