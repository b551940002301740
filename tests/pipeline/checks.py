"""Checks of the migration's end state across FileMaker, S3 and the database.

Shared by the import tests and the crash harness: after any sequence of runs,
failures and reruns, the end state must be the one a clean run produces.
"""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from pathlib import Path

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import VisitBatch
from filemaker_migration.pipeline import ImportOptions
from filemaker_migration.pipeline import ImportRunner
from filemaker_migration.pipeline.persist import visit_of
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.targets import get_target


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

    # Database, read through the target (so the same checks hold for every
    # target): one image row per linked record, one batch per patient and date.
    assert_rows_match_ledger(entries)
    target = get_target()
    rows = list(target.images())
    linked = {r for r in exported_ids if expected[r]["outcome"] == "imported"}
    assert len(rows) == len(linked)
    by_ref = {e.image_ref: e for e in entries.values() if e.image_ref}
    assert {by_ref[row.ref].record_id for row in rows} == linked
    assert {by_ref[row.ref].filemaker_id for row in rows} == {
        expected[r]["id"].upper() for r in linked
    }

    # FileMaker: the export date is set on exactly the exported records.
    records = filemaker_records(fm)
    marked = {rid for rid, data in records.items() if data["NexusExportDate"]}
    assert marked == exported_ids
    for rid in exported_ids:
        assert records[rid]["NexusS3Key"] == entries[rid].s3_key
        assert records[rid]["NexusSHA256"] == entries[rid].sha256


def assert_rows_match_ledger(entries: dict[str, LedgerEntry]) -> None:
    """Every image row is a ledger entry's, in the batch of its patient's visit;
    every batch the migration made holds images and is mapped once."""
    target = get_target()
    by_ref = {e.image_ref: e for e in entries.values() if e.image_ref}
    rows = list(target.images())
    assert {row.ref for row in rows} == set(by_ref), "one row per linked entry"
    slots = {slot.batch_ref: slot for slot in VisitBatch.objects.all()}
    batches = {batch.ref: batch for batch in target.batches()}
    assert set(batches) == set(slots), "each batch mapped to one patient and visit"
    assert len({(s.patient_ref, s.visit) for s in slots.values()}) == len(slots)
    assert all(batch.image_count > 0 for batch in batches.values())
    for row in rows:
        entry = by_ref[row.ref]
        slot = slots[row.batch_ref]
        assert (slot.patient_ref, slot.visit) == (
            entry.patient_ref,
            visit_of(entry.image_date),
        )
        assert batches[row.batch_ref].patient_ref == entry.patient_ref
        assert row.s3_key == entry.s3_key
        assert row.filemaker_id in (None, entry.filemaker_id)
        assert row.sha256 in (None, entry.sha256)
        assert row.size in (None, entry.size)


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
