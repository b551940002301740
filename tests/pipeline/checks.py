"""Checks of the migration's end state across FileMaker, S3 and the database.

Shared by the import tests and the crash harness: after any sequence of runs,
failures and reruns, the end state must be the one a clean run produces.
"""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from pathlib import Path

from clinic.filemaker.models import LedgerEntry
from clinic.filemaker.pipeline import ImportOptions
from clinic.filemaker.pipeline import ImportRunner
from clinic.filemaker.pipeline.config import FileMakerSettings
from clinic.filemaker.pipeline.progress import Progress
from clinic.filemaker.s3store import ObjectStore
from clinic.images.models import Image
from clinic.images.models import ImageBatch


def expected_records(dataset: Path) -> dict[str, dict]:
    return json.loads((dataset / "expected.json").read_text())["records"]


def filemaker_records(fm: FileMakerSettings) -> dict[str, dict]:
    """Every image record's field data, read through the Data API."""
    with fm.client(max_concurrency=2) as client:
        page = client.get_records(fm.layout, limit=100_000)
    return {r.record_id: r.field_data for r in page.records}


def original_keys(store: ObjectStore, prefix: str = "") -> list[str]:
    """Keys of originals, leaving out the gallery's derivatives beside them."""
    return [
        obj.key
        for obj in store.list_keys(prefix)
        if not obj.key.endswith((".thumb.jpg", ".display.jpg"))
    ]


def assert_clean_end_state(dataset: Path, store: ObjectStore) -> None:
    """What a complete, correct migration of the synthetic clinic leaves behind."""
    fm = FileMakerSettings.from_settings()
    expected = expected_records(dataset)
    entries = {e.record_id: e for e in LedgerEntry.objects.all()}
    assert set(entries) == set(expected), "every record has exactly one ledger entry"

    exported_ids = set()
    for record_id, oracle in expected.items():
        entry = entries[record_id]
        assert entry.state == oracle["outcome"], (
            record_id,
            entry.reason,
            entry.last_error,
        )
        if oracle["outcome"] == "skipped":
            assert entry.s3_key == ""
            continue
        exported_ids.add(record_id)
        assert entry.container_field == oracle["field"], record_id
        assert entry.sha256 == oracle["sha256"], record_id

    # S3: exactly one original per imported or unlinked record, with the
    # right checksum, plus the gallery's derivatives of linked images.
    objects = store.list_keys(store.settings.key_prefix + "/")
    keys = Counter(obj.key for obj in objects)
    wanted = {entries[r].s3_key: entries[r] for r in exported_ids}
    derived = set()
    for rid in exported_ids:
        entry = entries[rid]
        if expected[rid]["outcome"] == "imported":
            assert entry.thumbnail_key.endswith(".thumb.jpg"), rid
            display = entry.s3_key.rsplit(".", 1)[0] + ".display.jpg"
            assert entry.display_key in (entry.s3_key, display), rid
            derived |= {entry.thumbnail_key, entry.display_key} - {entry.s3_key}
        else:
            assert entry.thumbnail_key == entry.display_key == ""
    assert set(keys) == set(wanted) | derived, "no object without a ledger entry"
    for key, entry in wanted.items():
        info = store.head(key)
        assert info is not None
        assert info.sha256 == entry.sha256
        assert info.sse == "AES256"

    # Database: one Image per linked record, one batch per patient and date.
    images = Image.objects.all()
    linked = {r for r in exported_ids if expected[r]["outcome"] == "imported"}
    assert images.count() == len(linked)
    assert {str(i.filemaker_id).upper() for i in images} == {
        expected[r]["id"].upper() for r in linked
    }
    batches = Counter((b.patient_id, b.captured_date) for b in ImageBatch.objects.all())
    assert all(count == 1 for count in batches.values())
    assert not ImageBatch.objects.filter(images__isnull=True).exists()
    for image in images.select_related("batch"):
        assert image.batch.captured_date == image.filemaker_date
        entry = entries[image.ledger_entry.record_id]
        assert (image.thumbnail_key, image.display_key) == (
            entry.thumbnail_key,
            entry.display_key,
        )

    # FileMaker: the export date is set on exactly the exported records.
    records = filemaker_records(fm)
    marked = {rid for rid, data in records.items() if data["NexusExportDate"]}
    assert marked == exported_ids
    for rid in exported_ids:
        assert records[rid]["NexusS3Key"] == entries[rid].s3_key
        assert records[rid]["NexusSHA256"] == entries[rid].sha256


def run_import_with_store(store, settings, workers: int = 4):
    """The import with a store the test built (e.g. with injected S3 faults)."""
    fm = FileMakerSettings.from_settings()
    with fm.client(max_concurrency=2 * workers) as client:
        return ImportRunner(
            ImportOptions(workers=workers),
            fm,
            client=client,
            store=store,
            progress=Progress(StringIO()),
            report_dir=Path(settings.STATE_DIR) / "reports",
        ).execute()
