"""Patients, searchable by name and FileMaker id."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from clinic.patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = (
        "last_name",
        "first_name",
        "date_of_birth",
        "filemaker_id",
        "gallery",
    )
    search_fields = ("first_name", "last_name", "filemaker_id")
    readonly_fields = ("created_at",)

    @admin.display(description="images")
    def gallery(self, patient: Patient) -> str:
        url = reverse("images:patient", args=[patient.pk])
        return format_html('<a href="{}">gallery</a>', url)
