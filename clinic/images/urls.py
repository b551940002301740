from django.urls import path

from clinic.images import views

app_name = "images"

urlpatterns = [
    path("", views.search, name="search"),
    path("patients/<uuid:pk>/", views.patient, name="patient"),
    path("images/<uuid:pk>/", views.image, name="image"),
]
