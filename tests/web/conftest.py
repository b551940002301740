"""Fixtures for the pages and the API: staff accounts, an imported clinic, a browser.

The synthetic clinic is imported once per session (emulator over HTTPS into
moto over sockets), its rows dumped and the database emptied again; a test
that needs it loads the rows (`imported`), far cheaper than importing again.
The objects stay in the session's bucket, which no test here changes.

The browser is Debian's Chromium driven by Playwright (see chromium.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.db import connections
from django.test import override_settings
from PIL import Image as PILImage

from clinic.images.backfill import backfill_derivatives
from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.models import ImportSource
from clinic.patients.models import Patient
from filemaker_migration.conf import object_store
from tests.conftest import point_settings_at
from tests.conftest import start_emulator
from tests.web.chromium import launch

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def _no_browser_test_connection_left(django_db_setup, django_db_blocker):
    """Close what the browser tests left open before the test database goes.

    After the Playwright tests one PostgreSQL session stays open that is not
    this thread's to close (Playwright drives the page from greenlets of its
    own, and the live server from threads), and PostgreSQL refuses DROP
    DATABASE while any session is open. At the end of the session, end them.
    """
    yield
    with django_db_blocker.unblock():
        connections.close_all()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "staff", password=PASSWORD, is_staff=True
    )


@pytest.fixture
def clerk(django_user_model):
    """A logged-in account that is not staff."""
    return django_user_model.objects.create_user("clerk", password=PASSWORD)


@pytest.fixture
def offline_s3(settings):
    """S3 settings for pages that only sign URLs (signing needs no server)."""
    settings.S3 = {
        **settings.S3,
        "BUCKET": "clinic-test",
        "ENDPOINT_URL": "http://127.0.0.1:9",
        "ACCESS_KEY_ID": "test-access-key",
        "SECRET_ACCESS_KEY": "test-secret-key",
        "PRESIGN_SECONDS": 300,
    }


def make_patient_with_batches(count: int) -> Patient:
    """A patient with `count` dated batches of two images each (no S3 objects)."""
    patient = Patient.objects.create(
        first_name="Ada", last_name="Testpatient", filemaker_id=str(uuid.uuid4())
    )
    for n in range(count):
        day = dt.date(2014, 1, 1) + dt.timedelta(days=30 * n)
        batch = ImageBatch.objects.create(
            patient=patient,
            batch_name=f"{day.day} {day:%b %Y} (FileMaker Import)",
            captured_date=day,
            import_source=ImportSource.FILEMAKER_IMPORT,
        )
        for category in ("Dorsal", "Left Planter"):
            fm_id = str(uuid.uuid4()).upper()
            Image.objects.create(
                batch=batch,
                s3_key=f"patients/filemaker-import/images/{patient.pk}/{day}/{fm_id}.jpg",
                original_filename=f"{category}.jpg",
                file_size=1000,
                category=category,
                filemaker_type=category,
                filemaker_date=day,
                filemaker_id=fm_id,
                content_type="image/jpeg",
                sha256=hashlib.sha256(fm_id.encode()).hexdigest(),
            )
    return patient


def run_imports() -> None:
    call_command("import_filemaker_patients", stdout=StringIO())
    call_command("import_filemaker_images", "--workers", "8", stdout=StringIO())


# What an import writes: the clinic's rows and the migration's own.
SNAPSHOT_APPS = ("patients", "images", "filemaker")


@dataclass(frozen=True)
class ImportedClinic:
    rows: Path  # dumpdata of SNAPSHOT_APPS right after the import
    s3: dict  # settings.S3 pointing at the bucket holding the objects


@pytest.fixture(scope="session")
def imported_clinic(
    django_db_setup,
    django_db_blocker,
    s3_server,
    clinic_dataset,
    emulator_tls_dir,
    tmp_path_factory,
) -> ImportedClinic:
    base = tmp_path_factory.mktemp("imported-clinic")
    emulator = start_emulator(clinic_dataset, base / "fm-state", emulator_tls_dir)
    values = SimpleNamespace(FILEMAKER=django_settings.FILEMAKER, S3=django_settings.S3)
    point_settings_at(values, emulator, s3_server, f"clinic-{uuid.uuid4().hex[:12]}")
    rows = base / "rows.json"
    try:
        with (
            override_settings(
                FILEMAKER=values.FILEMAKER, S3=values.S3, STATE_DIR=base / "state"
            ),
            django_db_blocker.unblock(),
        ):
            object_store().create_private_bucket()
            run_imports()
            call_command("dumpdata", *SNAPSHOT_APPS, output=str(rows), verbosity=0)
            # The tests that do not ask for the clinic find an empty database.
            call_command("flush", interactive=False, verbosity=0)
    finally:
        emulator.server.stop()
        emulator.app.close()
    return ImportedClinic(rows=rows, s3=values.S3)


@pytest.fixture
def imported(transactional_db, settings, imported_clinic):
    """The synthetic clinic as imported into moto (a copy of the session's
    import); the store of its bucket."""
    settings.S3 = imported_clinic.s3
    call_command("loaddata", str(imported_clinic.rows), verbosity=0)
    return object_store()


@pytest.fixture
def imported_with_derivatives(imported):
    backfill_derivatives(imported, Image.objects.all())
    return imported


def jpeg_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def page(transactional_db, live_server, monkeypatch):
    """A fresh Chromium tab; the database and live server are set up first."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio loop on this thread, and Django
    # refuses ORM calls from a thread with a running loop (it cannot tell the
    # loop is not ours); the test's own ORM calls are synchronous all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # One Playwright per test: its loop must be gone before the next test,
    # whose database setup would otherwise be refused in the same way.
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()
