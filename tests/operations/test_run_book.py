"""The plan's sequence, as written, against the synthetic clinic."""

from __future__ import annotations

import json

import pytest

from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from tests.clinic_rows import batch_rows
from tests.clinic_rows import image_rows
from tests.operations.helpers import add_missing_patients
from tests.operations.helpers import command
from tests.operations.helpers import import_patients
from tests.operations.helpers import run_import
from tests.operations.helpers import verify
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.checks import expected_records
from tests.pipeline.checks import original_keys

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_book_inspect_test_import_verify_rollback_relink(
    migration_env, emulator, tmp_path
):
    expected = expected_records(emulator.dataset)
    import_patients()

    found = json.loads(command("inspect_filemaker_images", "--json"))
    assert found["ready"] is True
    assert found["records"] == len(expected)
    assert found["exported"] == 0

    probe = command("test_filemaker_image_container")
    assert "field used" in probe
    assert "sha256" in probe

    run_import("--limit", "10")
    assert "CLEAN" in verify()
    assert len(original_keys(migration_env, "patients/")) == 10

    run = ImportRun.objects.get()
    dry = command("rollback_filemaker_images", "--run", str(run.pk))
    assert "would remove" in dry
    assert len(original_keys(migration_env, "patients/")) == 10  # dry run: untouched
    command("rollback_filemaker_images", "--run", str(run.pk), "--yes")
    assert "CLEAN" in verify()
    assert migration_env.list_keys("patients/") == []
    assert not LedgerEntry.objects.exists()
    assert not image_rows()
    assert not batch_rows()

    run_import()
    assert "CLEAN" in verify("--json", str(tmp_path / "v.json"))
    assert_clean_end_state(emulator.dataset, migration_env)
    unlinked = LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).count()
    assert unlinked > 0

    add_missing_patients(emulator.dataset)
    output = command("relink_filemaker_images")
    assert f"relinked {unlinked}" in output

    report = tmp_path / "after-relink.json"
    assert "CLEAN" in verify("--deep", "--json", str(report))
    assert not LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).exists()
    assert json.loads(report.read_text())["counts"]["matched"] == sum(
        1 for r in expected.values() if r["outcome"] != "skipped"
    )
    assert not migration_env.list_keys("patients/filemaker-import/images/unlinked/")
    assert len(image_rows()) == sum(
        1 for r in expected.values() if r["outcome"] != "skipped"
    )
