"""Metadata discovery and the one-container test, read-only."""

from __future__ import annotations

import json

import pytest
from django.core.management.base import CommandError

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.models import LedgerEntry
from tests.operations.helpers import command
from tests.operations.helpers import import_patients
from tests.operations.helpers import missing_contacts
from tests.pipeline.checks import expected_records
from tests.pipeline.checks import filemaker_records

pytestmark = pytest.mark.django_db(transaction=True)


def test_inspect_counts_match_the_clinic(migration_env, emulator):
    import_patients()
    expected = expected_records(emulator.dataset)

    found = json.loads(command("inspect_filemaker_images", "--json"))

    assert found["ready"] is True
    assert found["missing_required_fields"] == []
    assert found["fields"]["image_Full"] == "container"
    assert found["records"] == len(expected)
    assert sum(found["per_type"].values()) == len(expected)
    assert found["contacts_not_found"] == len(missing_contacts(emulator.dataset))
    assert found["records_with_contact_not_found"] == sum(
        1 for r in expected.values() if not r["contact_exists"]
    )
    no_container = sum(1 for r in expected.values() if "all_empty" in r["defects"])
    assert found["no_container"] == no_container
    assert 0 < found["container_filled"]["image_Full"] <= len(expected)


def test_inspect_table_names_what_the_layout_lacks(migration_env, settings):
    settings.FILEMAKER = {
        **settings.FILEMAKER,
        "FIELDS": {"export_date": "NexusExportDateMissing"},
    }
    with pytest.raises(CommandError, match="NexusExportDateMissing"):
        command("inspect_filemaker_images")


def test_probe_reports_the_first_container_and_writes_nothing(migration_env, emulator):
    expected = expected_records(emulator.dataset)
    before = filemaker_records(FileMakerSettings.from_settings())

    output = command("test_filemaker_image_container")

    first = next(r for r in expected.values() if r["outcome"] != "skipped")
    assert f"field used    {first['field']}" in output
    assert f"sha256        {first['sha256']}" in output
    assert filemaker_records(FileMakerSettings.from_settings()) == before
    assert migration_env.list_keys("") == []
    assert not LedgerEntry.objects.exists()


def test_probe_of_a_record_without_an_image_fails_clearly(migration_env, emulator):
    expected = expected_records(emulator.dataset)
    record_id = next(rid for rid, r in expected.items() if "all_empty" in r["defects"])
    with pytest.raises(CommandError, match="no_container"):
        command("test_filemaker_image_container", "--record-id", record_id)
