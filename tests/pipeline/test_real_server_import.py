"""The import against what real FileMaker Servers do (issue #14): the
transfer allowance (953), records in use (301), containers stored by
reference. (The oracle run under the emulator's strict-server profile is
test_import_end_to_end's, the crash harness's and the fault matrix's.)
"""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.checks import expected_records
from tests.pipeline.checks import filemaker_records
from tests.pipeline.test_import_end_to_end import import_patients
from tests.pipeline.test_import_end_to_end import report_of
from tests.pipeline.test_import_end_to_end import run_import

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_import_stops_on_953_saying_how_far_it_got(migration_env, emulator):
    import_patients()
    expected = expected_records(emulator.dataset)
    containers = sum(r["size"] or 0 for r in expected.values())
    # About a third of the containers fit in what is left of the allowance.
    backend = emulator.app.backend
    emulator.faults.transfer_budget_bytes = backend.meter.sent + containers // 3
    with pytest.raises(CommandError, match=r"error 953\) after \d+ record"):
        run_import("--workers", "4")
    exported = LedgerEntry.objects.filter(
        state__in=(State.IMPORTED, State.IMPORTED_UNLINKED)
    ).count()
    assert 0 < exported < len(expected)
    # The records met by 953 failed and wait; nothing was failed by anything else.
    reasons = set(
        LedgerEntry.objects.filter(state=State.FAILED).values_list("reason", flat=True)
    )
    assert reasons <= {"filemaker_transfer_limit"}

    emulator.faults.transfer_budget_bytes = 0  # the allowance reset
    report = report_of(run_import("--workers", "4"))
    assert report["halted"] == ""
    assert report["filemaker_transfer"]["container_bytes"] > 0
    assert_clean_end_state(emulator.dataset, migration_env)


def test_a_record_in_use_is_written_back_within_the_run(migration_env, emulator):
    import_patients()
    emulator.faults.locked_every_nth = 3
    emulator.faults.lock_refusals = 2
    run_import("--workers", "8", "--limit", "20")  # no CommandError: none failed
    assert emulator.app.backend.locks.refused >= 2
    assert not LedgerEntry.objects.filter(state=State.FAILED).exists()
    records = filemaker_records(FileMakerSettings.from_settings())
    assert sum(1 for data in records.values() if data["NexusExportDate"]) == 20


def test_stored_by_reference_is_skipped_for_good(migration_env, emulator):
    import_patients()
    expected = expected_records(emulator.dataset)
    record_id = next(rid for rid, r in expected.items() if r["outcome"] == "imported")
    emulator.faults.reference_records = record_id

    output = run_import("--workers", "8", "--limit", "5")

    entry = LedgerEntry.objects.get(record_id=record_id)
    assert (entry.state, entry.reason) == (State.SKIPPED, "stored_by_reference")
    assert "image_Full" in entry.detail
    assert "stored_by_reference" in output
    # The next run does not try it again while the record is unchanged.
    again = report_of(run_import("--workers", "8", "--limit", "5"))
    after = LedgerEntry.objects.get(record_id=record_id)
    assert (after.attempts, after.updated_at) == (entry.attempts, entry.updated_at)
    assert again["reasons"]["skipped:stored_by_reference"] == 1
