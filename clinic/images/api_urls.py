from django.urls import path

from clinic.images import api

app_name = "images_api"

urlpatterns = [
    path(
        "patients/<uuid:pk>/image-batches/",
        api.patient_batches,
        name="patient-batches",
    ),
]
