"""Relink and rollback stopped part-way, then run again, reach the clean state."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from filemaker_migration import ledger
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from tests.clinic_rows import batch_rows
from tests.clinic_rows import image_rows
from tests.operations.helpers import add_missing_patients
from tests.operations.helpers import command
from tests.operations.helpers import run_import
from tests.operations.helpers import verify
from tests.pipeline.checks import filemaker_records

pytestmark = pytest.mark.django_db(transaction=True)


class Crash(Exception):
    """Stands for the process dying at that point."""


def refuse_after(monkeypatch, target, name: str, calls: int, error: Exception):
    """Let `calls` calls of target.name through, then fail every one."""
    original = getattr(target, name)
    seen = {"n": 0}

    def failing(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] > calls:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def assert_relinked_clean(store) -> None:
    assert "CLEAN" in verify()
    assert not LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).exists()
    assert store.list_keys(f"{store.settings.key_prefix}/unlinked/") == []


def test_relink_s3_delete_refused_then_rerun(imported, emulator, monkeypatch):
    add_missing_patients(emulator.dataset)
    refuse_after(monkeypatch, ObjectStore, "delete", 1, StoreError("s3 delete refused"))
    with pytest.raises(CommandError, match="not relinked"):
        command("relink_filemaker_images")
    assert LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).exists()

    monkeypatch.undo()
    command("relink_filemaker_images")
    assert_relinked_clean(imported)


@pytest.mark.parametrize("where", ["after_copy", "after_delete"])
def test_relink_crash_then_rerun(imported, emulator, monkeypatch, where):
    add_missing_patients(emulator.dataset)
    if where == "after_copy":
        refuse_after(monkeypatch, DataAPIClient, "edit_record", 1, Crash())
    else:
        refuse_after(monkeypatch, ledger, "record_relinked", 1, Crash())
    with pytest.raises(Crash):
        command("relink_filemaker_images")

    monkeypatch.undo()
    command("relink_filemaker_images")
    assert_relinked_clean(imported)


def assert_rolled_back(store) -> None:
    assert "CLEAN" in verify()
    assert store.list_keys("patients/") == []
    assert not LedgerEntry.objects.exists()
    assert not image_rows()
    assert not batch_rows()
    assert not any(
        data["NexusExportDate"] or data["NexusS3Key"]
        for data in filemaker_records_now().values()
    )


def filemaker_records_now():
    return filemaker_records(FileMakerSettings.from_settings())


def test_rollback_s3_delete_refused_then_rerun(imported, monkeypatch):
    refuse_after(monkeypatch, ObjectStore, "delete", 3, StoreError("s3 delete refused"))
    with pytest.raises(CommandError, match="run the rollback again"):
        command("rollback_filemaker_images", "--all", "--yes")
    # FileMaker and the database are already undone; objects remain.
    assert not image_rows()
    assert imported.list_keys("patients/")

    monkeypatch.undo()
    command("rollback_filemaker_images", "--all", "--yes")
    assert_rolled_back(imported)


def test_rollback_filemaker_refusing_then_rerun(imported, emulator):
    emulator.faults.fail_every_nth_patch = 5
    with pytest.raises(CommandError, match="run the rollback again"):
        command("rollback_filemaker_images", "--all", "--yes")
    # Nothing else was touched before FileMaker was fully cleared.
    assert image_rows()

    emulator.faults.fail_every_nth_patch = 0
    command("rollback_filemaker_images", "--all", "--yes")
    assert_rolled_back(imported)


def test_rollback_crash_in_the_database_step_then_import_again(
    imported, emulator, monkeypatch
):
    """Stopped after FileMaker was cleared, the import can simply redo it."""
    refuse_after(monkeypatch, ledger, "record_rolled_back", 4, Crash())
    with pytest.raises(Crash):
        command("rollback_filemaker_images", "--all", "--yes")

    monkeypatch.undo()
    run_import("--workers", "4")
    assert "CLEAN" in verify()
    command("rollback_filemaker_images", "--all", "--yes")
    assert_rolled_back(imported)
