from django.urls import path

from clinic.images import views

app_name = "images"

urlpatterns = [
    path("", views.search, name="search"),
    path("patients/<uuid:pk>/", views.patient, name="patient"),
    path("patients/<uuid:pk>/compare/", views.compare, name="compare"),
    path("images/<uuid:pk>/", views.image, name="image"),
]
