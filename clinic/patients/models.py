"""The clinic's patients, as far as the image migration needs them."""

from __future__ import annotations

import uuid

from django.db import models


class Patient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The FileMaker contact UUID, stored upper-case so that lookups are
    # case-insensitive whatever case FileMaker hands out.
    filemaker_id = models.CharField(max_length=36, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or str(self.id)

    def save(self, *args, **kwargs) -> None:
        if self.filemaker_id:
            self.filemaker_id = self.filemaker_id.strip().upper()
        super().save(*args, **kwargs)
