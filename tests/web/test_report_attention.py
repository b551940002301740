"""The run report's "needing attention": grouped and filterable by reason,
every row with its reason, contact id and (where stored) a preview."""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

import pytest
from django.urls import reverse

from filemaker_migration import attention
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.reasons import PATIENT_NOT_FOUND
from filemaker_migration.reasons import describe
from filemaker_migration.reasons import reason_of
from tests.web.conftest import PASSWORD

ATTENTION = ("failed", "skipped", "imported_unlinked")


def report_of(run: ImportRun) -> dict:
    return json.loads(Path(run.report_path).read_text())


def attention_records(run: ImportRun) -> list[dict]:
    return [
        r
        for r in report_of(run)["records"]
        if r["outcome"] in ATTENTION
        or any(n["note"] == "unreadable_date" for n in r.get("notes", []))
    ]


@pytest.mark.django_db(transaction=True)
def test_attention_is_grouped_by_reason_each_row_with_its_contact_id(
    client, staff, imported
):
    run = ImportRun.objects.filter(command="import_filemaker_images").latest("pk")
    records = attention_records(run)
    client.login(username="staff", password=PASSWORD)

    response = client.get(reverse("reports:run", args=[run.pk]))

    groups = response.context["groups"]
    expected = Counter(reason_of(r["outcome"], r["reason"]) for r in records)
    assert {g.reason.code: g.count for g in groups} == dict(expected)
    assert [g.count for g in groups] == sorted(expected.values(), reverse=True)
    # The synthetic clinic has contacts missing from the patients: their rows
    # carry no reason code in the report, and get one here.
    assert PATIENT_NOT_FOUND in expected
    page = response.content.decode()
    for group in groups:
        assert f'data-reason="{group.reason.code}"' in page
        assert group.reason.label in page
        assert html.escape(group.reason.advice) in page
        for row in group.rows:
            entry = LedgerEntry.objects.get(record_id=row.record["record_id"])
            assert row.entry == entry
            if entry.contact_id:
                assert entry.contact_id.upper() in page
            # A preview exactly where the ledger says an object is stored.
            assert bool(row.preview) == bool(entry.s3_key)
            if row.preview:
                assert "X-Amz-Signature=" in row.preview
    unlinked = next(g for g in groups if g.reason.code == PATIENT_NOT_FOUND)
    assert all(r.preview and r.entry.contact_id for r in unlinked.rows)


@pytest.mark.django_db(transaction=True)
def test_filtering_by_reason_shows_that_group_alone(client, staff, imported):
    run = ImportRun.objects.filter(command="import_filemaker_images").latest("pk")
    records = attention_records(run)
    client.login(username="staff", password=PASSWORD)
    url = reverse("reports:run", args=[run.pk])

    page = client.get(url, {"reason": "no_container"}).content.decode()
    unknown = client.get(url, {"reason": "no_such_reason"}).content.decode()

    wanted = [r for r in records if r["reason"] == "no_container"]
    assert wanted  # the synthetic clinic has records without any container
    assert page.count("data-reason=") == 1
    assert 'data-reason="no_container"' in page
    assert page.count("<tr data-record=") == len(wanted)
    for record in wanted:
        assert f'data-record="{record["record_id"]}"' in page
    assert "data-reason=" not in unknown
    assert "No record of this run needs attention for the reason" in unknown


def write_run(tmp_path, records: list[dict]) -> ImportRun:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"run": {}, "totals": {}, "records": records}))
    return ImportRun.objects.create(report_path=str(report), status="completed")


@pytest.mark.django_db
def test_large_groups_show_their_first_rows_and_link_to_all(
    client, staff, offline_s3, tmp_path
):
    missing = [
        {"record_id": str(n), "filemaker_id": "", "outcome": "skipped"}
        | {"reason": "no_container", "detail": "every container field is empty"}
        for n in range(1, attention.ROWS_PER_GROUP + 8)
    ]
    failed = [
        {"record_id": "900", "filemaker_id": "", "outcome": "failed"}
        | {"reason": "s3_put_failed", "detail": "NoSuchBucket"}
    ]
    run = write_run(tmp_path, [*reversed(missing), *failed])
    client.login(username="staff", password=PASSWORD)
    url = reverse("reports:run", args=[run.pk])

    everything = client.get(url).context["groups"]
    one = client.get(url, {"reason": "no_container"})

    assert [(g.reason.code, g.count, len(g.rows)) for g in everything] == [
        ("no_container", len(missing), attention.ROWS_PER_GROUP),
        ("s3_put_failed", 1, 1),
    ]
    # In record order, whatever the report's order.
    shown = [r.record["record_id"] for r in everything[0].rows]
    assert shown == [str(n) for n in range(1, attention.ROWS_PER_GROUP + 1)]
    assert (
        f"All {len(missing)} records with this reason"
        in client.get(url).content.decode()
    )
    assert [len(g.rows) for g in one.context["groups"]] == [len(missing), 0]
    assert describe("s3_put_failed").label in one.content.decode()  # the filter
