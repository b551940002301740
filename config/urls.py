from django.contrib import admin
from django.urls import include
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("gallery/", include("clinic.images.urls")),
    path("api/", include("clinic.images.api_urls")),
    path("reports/", include("filemaker_migration.urls")),
]
