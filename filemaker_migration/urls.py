from django.urls import path

from filemaker_migration import spotcheck_views
from filemaker_migration import views

app_name = "reports"

urlpatterns = [
    path("runs/<int:pk>/", views.run_report, name="run"),
    path("runs/<int:pk>.json", views.run_report_json, name="run-json"),
    path("runs/<int:pk>/spot-check/", spotcheck_views.spot_check, name="spot-check"),
]
