"""What the operations report of real-server behaviours (issue #14): inspect
counts containers stored by reference apart and estimates the run's
transfer; the one-container test says which behaviours it met; verify counts
what it received."""

from __future__ import annotations

import json

import pytest

from filemaker_migration.emulator import strict_profile
from filemaker_migration.models import LedgerEntry
from tests.operations.helpers import command
from tests.operations.helpers import import_patients
from tests.operations.helpers import run_import
from tests.operations.helpers import verify
from tests.pipeline.checks import expected_records

pytestmark = pytest.mark.django_db(transaction=True)


def test_inspect_counts_references_apart_and_estimates_the_transfer(
    migration_env, emulator
):
    import_patients()
    expected = expected_records(emulator.dataset)
    imported = [rid for rid, r in expected.items() if r["outcome"] != "skipped"]
    emulator.faults.reference_records = ",".join(imported[:2])

    found = json.loads(command("inspect_filemaker_images", "--json"))
    text = command("inspect_filemaker_images")

    assert found["container_by_reference"]["image_Full"] == 2
    assert found["records_by_reference"] == 2
    filled = sum(1 for r in expected.values() if "all_empty" not in r["defects"])
    assert found["container_filled"]["image_Full"] <= filled - 2
    estimate = found["transfer_estimate"]
    assert estimate["records"] == len(imported) - 2
    # The layout's filesize field sizes the image_Full ones (in 0.01 MB steps);
    # the rest are measured through the handshake.
    assert estimate["from_layout"] > 0
    assert estimate["sampled"] > 0
    real = sum(expected[rid]["size"] for rid in imported[2:])
    assert 0.8 * real < estimate["container_bytes"] < 1.25 * real
    assert estimate["api_bytes"] > 0
    assert "containers stored by reference" in text
    assert "estimated transfer for the import" in text
    assert "Admin Console" in text
    assert "953" in text


def test_probe_reports_the_real_server_behaviours_it_met(migration_env, emulator):
    emulator.app.faults = strict_profile(stale_url_every_nth=1)

    output = command("test_filemaker_image_container")

    assert "container download OK" in output
    lines = dict(
        line.strip().split(": ", 1)
        for line in output.split("server behaviours met")[1].splitlines()[1:]
        if line.startswith("  ")
    )
    stale = lines["stale container URL (redirect without cookie, or 401/403/404)"]
    assert stale.startswith("met (1x)")
    assert lines["token on the streaming URL"] == "required"
    assert lines["portals on the layout"].startswith("yes (Notes)")
    assert lines["container stored by reference"] == "not met"
    assert lines["record in use (301)"].startswith("not observable")
    assert len(lines) == 9


def test_verify_counts_what_it_received_from_filemaker(
    migration_env, emulator, tmp_path
):
    import_patients()
    run_import("--workers", "8", "--limit", "5")

    def received(*flags: str) -> int:
        report = tmp_path / "verify.json"
        output = verify("--json", str(report), *flags)
        assert "received from FileMaker: " in output
        return json.loads(report.read_text())["filemaker_bytes"]

    shallow, deep = received(), received("--deep")
    sizes = [e.size for e in LedgerEntry.objects.exclude(s3_key="")]
    assert 0 < shallow < deep
    assert deep - shallow >= sum(sizes)  # --deep reads each image back
