"""Hostile and odd FileMaker records: no crash, an outcome and a reason for
every record, and nothing unvalidated in an S3 key.

Property-based (hypothesis): each example is a small FileMaker file of its own,
served by the emulator over HTTPS and imported into moto's S3 server.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import uuid
from functools import cache
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from filemaker_migration import keys
from filemaker_migration.conf import object_store
from filemaker_migration.dataapi import Record
from filemaker_migration.dataset.format import write_dataset_json
from filemaker_migration.dataset.generate import contacts_layout
from filemaker_migration.dataset.generate import images_layout
from filemaker_migration.fields import ImageFields
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import RunLock
from filemaker_migration.models import VisitBatch
from filemaker_migration.source import parse_record
from tests.clinic_rows import clinic_model
from tests.conftest import point_settings_at
from tests.conftest import start_emulator

PREFIX = "patients/filemaker-import/images"
SAFE_KEY = re.compile(
    r"^patients/filemaker-import/images/"
    r"(unlinked/[a-z0-9]+(-[a-z0-9]+)*|unlinked/unknown-type"
    # A patient's folder is the target's plain reference to it: the
    # reference clinic's UUID, another clinic's integer key (keys.py).
    r"|[A-Za-z0-9][A-Za-z0-9-]{0,63}"
    r"/(\d{4}-\d{2}-\d{2}|unknown-date))"
    r"/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
    r"(\.(jpg|png|gif|tif|webp|bmp|heic)|\.thumb\.jpg|\.display\.jpg)$"
)
FIELDS = ImageFields()
PATIENT = "0E5C1E32-6F4C-4C4B-9A1D-5B1C8A2E7F10"
HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "../../etc/passwd",
            "..\\..\\boot.ini",
            "/absolute/path",
            "%2e%2e%2f",
            "Left Planter",
            "Ünïcödé 足 👣",
            "a\x00b",
            "\u202eevil",
            "CON",
            "",
            " ",
        ]
    ),
)


# -- container contents -------------------------------------------------------


@cache
def picture(fmt: str) -> bytes:
    img = PILImage.effect_noise((64, 48), 40).convert("RGB")
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


@cache
def decompression_bomb() -> bytes:
    # 10,000 x 10,000 one-bit pixels: a few kilobytes that would decode into
    # 100 megapixels, past Pillow's bomb threshold.
    out = io.BytesIO()
    PILImage.new("1", (10_000, 10_000)).save(out, "PNG")
    return out.getvalue()


CONTENTS = {
    "empty": None,
    "jpeg": lambda: picture("JPEG"),
    "png": lambda: picture("PNG"),
    "truncated": lambda: picture("JPEG")[: len(picture("JPEG")) // 2],
    "zero_bytes": lambda: b"",
    "not_image": lambda: b"%PDF-1.4 this is not a picture\n" * 20,
    "bomb": decompression_bomb,
    "too_large": lambda: picture("JPEG") + b"\0" * (1024 * 1024 + 10),
}

records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.one_of(
                st.uuids().map(lambda u: str(u).upper()),
                st.uuids().map(str),  # lower case
                st.uuids().map(lambda u: "{" + str(u) + "}"),
                HOSTILE_TEXT,
            ),
            "duplicate_previous_id": st.booleans(),
            "contact": st.sampled_from(
                [PATIENT, PATIENT.lower(), "", "../x", "not-a-uuid"]
            ),
            "type": HOSTILE_TEXT,
            "name": HOSTILE_TEXT,
            "date": st.one_of(
                st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
                st.dates().map(lambda d: d.isoformat()),
                HOSTILE_TEXT,
            ),
            "containers": st.lists(
                st.sampled_from(sorted(CONTENTS)), min_size=5, max_size=5
            ),
        }
    ),
    min_size=1,
    max_size=6,
)


def write_dataset(root: Path, specs: list[dict]) -> None:
    (root / "records").mkdir(parents=True)
    (root / "files").mkdir()
    lines = []
    previous_id = None
    for number, spec in enumerate(specs, start=1):
        record_id = (
            previous_id if spec["duplicate_previous_id"] and previous_id else spec["id"]
        )
        previous_id = record_id
        data = {f.name: "" for f in images_layout().fields if f.type != "calculation"}
        data.update(
            {
                FIELDS.id: record_id,
                FIELDS.contact_id: spec["contact"],
                FIELDS.type: spec["type"],
                FIELDS.filename: spec["name"],
                FIELDS.date: spec["date"],
                FIELDS.recid: number,
            }
        )
        for field_name, content in zip(
            FIELDS.containers, spec["containers"], strict=True
        ):
            make = CONTENTS[content]
            if make is None:
                continue
            path = Path("files") / f"{number}-{field_name}.jpg"
            (root / path).write_bytes(make())
            data[field_name] = str(path)
        lines.append(json.dumps(data))
    (root / "records" / "API_Images.jsonl").write_text("\n".join(lines) + "\n")
    contact = {
        "id": PATIENT,
        "First Name": "Hostile",
        "Last Name": "Tester",
        "Date of Birth": "",
    }
    (root / "records" / "API_Contacts.jsonl").write_text(json.dumps(contact) + "\n")
    write_dataset_json(
        root,
        database="Clinic",
        accounts={"api": "hostile-test-password"},
        layouts=[images_layout(), contacts_layout()],
    )


def reset_database() -> None:
    for model in (LedgerEntry, VisitBatch, ImportRun, RunLock):
        model.objects.all().delete()
    for role in ("image", "batch", "patient"):
        clinic_model(role).objects.all().delete()


@pytest.mark.django_db(transaction=True)
@hypothesis_settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=records_strategy)
def test_hostile_records_each_end_with_an_outcome_and_safe_keys(
    settings, s3_server, emulator_tls_dir, specs
):
    reset_database()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dataset"
        write_dataset(root, specs)
        running = start_emulator(root, Path(tmp) / "state", emulator_tls_dir)
        try:
            bucket = f"hostile-{uuid.uuid4().hex[:12]}"
            point_settings_at(settings, running, s3_server, bucket)
            settings.FILEMAKER = {
                **settings.FILEMAKER,
                "PASSWORD": "hostile-test-password",
            }
            settings.STATE_DIR = Path(tmp) / "var"
            store = object_store()
            store.create_private_bucket()
            call_command("import_filemaker_patients", stdout=StringIO())
            report_path = Path(tmp) / "report.json"
            try:
                call_command(
                    "import_filemaker_images",
                    "--workers",
                    "3",
                    "--max-container-mb",
                    "1",
                    "--report",
                    str(report_path),
                    stdout=StringIO(),
                )
            except CommandError as exc:
                raise AssertionError(f"hostile input made records fail: {exc}") from exc
            report = json.loads(report_path.read_text())
        finally:
            running.server.stop()
            running.app.close()

    assert report["totals"]["seen"] == len(specs)
    assert len(report["records"]) == len(specs)
    for record in report["records"]:
        assert record["outcome"] in ("imported", "imported_unlinked", "skipped")
        if record["outcome"] == "skipped":
            assert record["reason"]
        else:
            assert SAFE_KEY.match(record["s3_key"]), record["s3_key"]
    for obj in store.list_keys(""):
        assert SAFE_KEY.match(obj.key), obj.key
    imported_ids = [
        r["filemaker_id"] for r in report["records"] if r["outcome"] != "skipped"
    ]
    assert len(imported_ids) == len(set(imported_ids)), "one import per FileMaker id"


@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                FIELDS.id,
                FIELDS.contact_id,
                FIELDS.date,
                FIELDS.type,
                FIELDS.filename,
                FIELDS.recid,
                FIELDS.md5,
                *FIELDS.containers,
            ]
        ),
        st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans()),
    )
)
def test_parsing_any_field_values_never_crashes_and_keys_stay_safe(data):
    src = parse_record(Record("1", "0", data), FIELDS, use_thumbnail=False)
    assert (
        src.filemaker_id is None
        or keys.canonical_uuid(src.filemaker_id) == src.filemaker_id
    )
    if src.filemaker_id:
        unlinked = keys.unlinked_key(PREFIX, src.image_type, src.filemaker_id, "jpg")
        linked = keys.linked_key(
            PREFIX, uuid.uuid4(), src.image_date, src.filemaker_id, "png"
        )
        assert SAFE_KEY.match(unlinked), unlinked
        assert SAFE_KEY.match(linked), linked
    assert all(ch.isprintable() for ch in src.image_type + src.original_filename)


@given(st.text())
def test_type_slug_is_always_a_safe_path_segment(text):
    slug = keys.type_slug(text)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*|unknown-type", slug)


@pytest.mark.django_db(transaction=True)
def test_each_hostile_case_gets_its_own_reason(
    settings, s3_server, emulator_tls_dir, tmp_path
):
    u = [str(uuid.UUID(int=n)).upper() for n in range(1, 9)]

    def spec(record_id, containers, date="01/02/2020", contact=PATIENT):
        return {
            "id": record_id,
            "duplicate_previous_id": False,
            "contact": contact,
            "type": "../../Left Planter",
            "name": "../../evil.jpg",
            "date": date,
            "containers": containers + ["empty"] * (5 - len(containers)),
        }

    specs = [
        spec(u[0], ["bomb", "jpeg"]),
        spec(u[1], ["too_large", "png"]),
        spec(u[2], ["zero_bytes", "not_image", "truncated", "jpeg"]),
        spec("not-a-uuid/../../x", ["jpeg"]),
        spec(u[4].lower(), ["jpeg"], date="31/31/2020"),
        spec(u[4], ["jpeg"]),  # the same id again, upper-case
        spec(u[5], ["bomb", "truncated"]),
        spec(u[6], ["jpeg"], contact="../x"),
    ]
    root = tmp_path / "dataset"
    write_dataset(root, specs)
    running = start_emulator(root, tmp_path / "state", emulator_tls_dir)
    try:
        point_settings_at(settings, running, s3_server, "hostile-cases")
        settings.FILEMAKER = {**settings.FILEMAKER, "PASSWORD": "hostile-test-password"}
        settings.STATE_DIR = tmp_path / "var"
        object_store().create_private_bucket()
        call_command("import_filemaker_patients", stdout=StringIO())
        call_command(
            "import_filemaker_images",
            "--max-container-mb",
            "1",
            "--report",
            str(tmp_path / "report.json"),
            stdout=StringIO(),
        )
    finally:
        running.server.stop()
        running.app.close()
    records = {
        r["record_id"]: r
        for r in json.loads((tmp_path / "report.json").read_text())["records"]
    }

    def tried(record_id):
        return [(t["field"], t["result"]) for t in records[record_id]["fields_tried"]]

    assert tried("1") == [
        ("image_Full", "decompression_bomb"),
        ("image_Ex_large", "used"),
    ]
    assert tried("2") == [("image_Full", "too_large"), ("image_Ex_large", "used")]
    assert records["2"]["content_type"] == "image/png"  # from the bytes, not ".jpg"
    assert tried("3") == [
        ("image_Full", "empty"),
        ("image_Ex_large", "not_an_image"),
        ("image_large", "truncated_or_corrupt"),
        ("image_medium", "used"),
    ]
    assert records["4"]["outcome"] == "skipped"
    assert records["4"]["reason"] == "invalid_filemaker_id"
    assert records["5"]["outcome"] == "imported"
    assert records["5"]["s3_key"].endswith(f"/unknown-date/{u[4]}.jpg")
    assert records["6"]["reason"] == "duplicate_filemaker_id"
    assert records["7"]["outcome"] == "skipped"
    assert records["7"]["reason"] == "no_valid_image"
    assert records["8"]["outcome"] == "imported_unlinked"
    assert records["8"]["s3_key"] == f"{PREFIX}/unlinked/left-planter/{u[6]}.jpg"
