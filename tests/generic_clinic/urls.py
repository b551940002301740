from django.contrib import admin
from django.urls import include
from django.urls import path

# The migration's pages under the same prefix as in the reference clinic.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("reports/", include("filemaker_migration.urls")),
]
