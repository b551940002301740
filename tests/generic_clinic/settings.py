"""Settings of the second test project: the reference clinic's settings with
its two clinic apps replaced by `records`, reached through the configurable
target.

    DJANGO_SETTINGS_MODULE=tests.generic_clinic.settings python manage.py check
"""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import DATABASES
from config.settings import INSTALLED_APPS
from config.settings import STATE_DIR

INSTALLED_APPS = [
    app for app in INSTALLED_APPS if app not in ("clinic.patients", "clinic.images")
] + ["tests.generic_clinic.records"]

ROOT_URLCONF = "tests.generic_clinic.urls"

# Its own SQLite files beside the reference clinic's, never the same tables.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] == str(STATE_DIR / "db.sqlite3"):
        DATABASES["default"]["NAME"] = str(STATE_DIR / "generic-clinic.sqlite3")
    test = DATABASES["default"]["TEST"]
    test["NAME"] = test["NAME"].replace("test-db-", "generic-clinic-test-db-")

FILEMAKER_MIGRATION_TARGET = {
    "BACKEND": "filemaker_migration.targets.configurable.ConfigurableTarget",
    "OPTIONS": {
        "patient": {
            "model": "records.Patient",
            "filemaker_id": "filemaker_metadata.filemaker_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "date_of_birth": "date_of_birth",
        },
        "batch": {
            "model": "records.ImageBatch",
            "owner": {"content_type": "content_type", "object_id": "object_id"},
            "name": "name",
            "name_format": "{day} {date:%b %Y} (FileMaker Import)",
            "undated_name": "Unknown date (FileMaker Import)",
            # No "counters": the app's Image.save() and delete() recount
            # image_count themselves (verify still checks it against the rows).
        },
        "image": {
            "model": "records.Image",
            "batch": "batch",
            # container_field and display_key have no column: ledger only.
            "fields": {
                "filemaker_id": "filemaker_id",
                "s3_key": "s3_key",
                "size": "file_size",
                "sha256": "sha256",
                "content_type": "mime_type",
                "width": "width",
                "height": "height",
                "thumbnail_key": "s3_thumbnail_key",
                "image_type": "category",
                "image_date": "date_taken",
                "original_filename": "original_name",
                "order": "order",
            },
            "thumbnail": "derivative",
        },
    },
}

# The suite's only way to name the clinic's models (tests/clinic_rows.py).
TEST_CLINIC_MODELS = {
    "patient": "records.Patient",
    "batch": "records.ImageBatch",
    "image": "records.Image",
}
