"""The whole import against the emulator (HTTPS) and moto's S3 server (sockets)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from clinic.filemaker.models import LedgerEntry
from clinic.images.models import Image
from clinic.images.models import ImageBatch

pytestmark = pytest.mark.django_db(transaction=True)


def _expected(dataset):
    return json.loads((dataset / "expected.json").read_text())


def _import(*args):
    out = StringIO()
    call_command("import_filemaker_images", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("workers", ["1", "16"])
def test_import_everything_matches_the_oracle(migration_env, emulator, workers):
    call_command("import_filemaker_patients", stdout=StringIO())
    output = _import("--workers", workers, "--page-size", "7")
    expected = _expected(emulator.dataset)["records"]

    entries = {e.record_id: e for e in LedgerEntry.objects.all()}
    assert set(entries) == set(expected)
    for record_id, oracle in expected.items():
        entry = entries[record_id]
        assert entry.state == oracle["outcome"], (record_id, oracle, entry.reason)
        if oracle["outcome"] != "skipped":
            assert entry.container_field == oracle["field"]
            assert entry.sha256 == oracle["sha256"]
    assert "report" in output
