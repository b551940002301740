"""A record changed after its export: verify says so, --refresh-changed fixes it."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management.base import CommandError
from PIL import Image as PILImage

from filemaker_migration.models import ImageVersion
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from tests.clinic_rows import image_of
from tests.operations.helpers import command
from tests.operations.helpers import fm_client
from tests.operations.helpers import run_import
from tests.operations.helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)


def new_photo() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (64, 48), (200, 30, 90)).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_refresh_changed_bytes_become_a_new_version(imported, emulator):
    entry = LedgerEntry.objects.filter(
        state=State.IMPORTED, container_field="image_Full"
    ).first()
    old_key, old_sha = entry.s3_key, entry.sha256
    photo = new_photo()
    # A clinician replaces the photo in FileMaker (a container upload).
    emulator.app.backend.upload(
        "API_Images", entry.record_id, "image_Full", "new.jpg", io.BytesIO(photo)
    )
    with pytest.raises(CommandError, match="changed after export"):
        verify()

    output = run_import("--refresh-changed", "--workers", "4")

    assert "1 new version" in output
    assert "CLEAN" in verify()
    image = image_of(entry)
    assert image.s3_key == old_key.replace(".jpg", ".v2.jpg")
    assert image.sha256 == hashlib.sha256(photo).hexdigest()
    assert imported.head(image.s3_key).sha256 == image.sha256
    version = ImageVersion.objects.get(filemaker_id=entry.filemaker_id)
    assert (version.version, version.s3_key, version.sha256) == (1, old_key, old_sha)
    assert imported.head(old_key).sha256 == old_sha  # the old one is kept

    again = run_import("--refresh-changed", "--workers", "4")
    assert "0 record(s) changed" in again


def test_refresh_changed_type_only_keeps_the_object(imported):
    entry = LedgerEntry.objects.filter(state=State.IMPORTED).first()
    fm, client = fm_client()
    with client:
        client.edit_record(fm.layout, entry.record_id, {"Type": "Posterior"})

    output = run_import("--refresh-changed", "--workers", "4")

    assert "0 new version" in output
    assert "CLEAN" in verify()
    image = image_of(entry)
    assert image.s3_key == entry.s3_key
    assert image.image_type == "Posterior"
    assert not ImageVersion.objects.exists()


def test_rollback_removes_every_version(imported, emulator):
    entry = LedgerEntry.objects.filter(
        state=State.IMPORTED, container_field="image_Full"
    ).first()
    emulator.app.backend.upload(
        "API_Images", entry.record_id, "image_Full", "new.jpg", io.BytesIO(new_photo())
    )
    run_import("--refresh-changed", "--workers", "4")

    command("rollback_filemaker_images", "--all", "--yes")
    assert imported.list_keys("patients/") == []
    assert not ImageVersion.objects.exists()
    assert "CLEAN" in verify()
