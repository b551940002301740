"""Small FileMaker files written record by record, served and imported.

For tests that need particular pictures in particular containers: each record
is an id, a contact, a date, a "Name of file" and the bytes of each container
it fills. `served` starts the emulator on the file with settings pointing at
it and at a fresh bucket of moto's S3 server, with the patient imported.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from PIL import Image

from filemaker_migration.conf import object_store
from filemaker_migration.dataset.format import write_dataset_json
from filemaker_migration.dataset.generate import contacts_layout
from filemaker_migration.dataset.generate import images_layout
from filemaker_migration.fields import ImageFields
from filemaker_migration.s3store import ObjectStore
from tests.conftest import RunningEmulator
from tests.conftest import point_settings_at
from tests.conftest import start_emulator

FIELDS = ImageFields()
PASSWORD = "round-two-test-password"
PATIENT = "0E5C1E32-6F4C-4C4B-9A1D-5B1C8A2E7F10"
NOT_A_PATIENT = "5A0C9C61-2B1E-4E55-8C7A-3D7C2B1F0A99"  # its images are unlinked


def ident(number: int) -> str:
    return str(uuid.UUID(int=number)).upper()


def picture(
    fmt: str, size: tuple[int, int], mode: str = "RGB", shade: int = 90, **params: Any
) -> bytes:
    """An image of one colour with a stripe (small files, whatever the size)."""
    image = Image.new("RGB", size, (shade, 140, 200))
    image.paste((200, shade, 40), (0, 0, size[0], max(1, size[1] // 3)))
    out = io.BytesIO()
    image.convert(mode).save(out, fmt, **params)
    return out.getvalue()


@dataclass
class Rec:
    id: str
    containers: dict[str, bytes] = field(default_factory=dict)
    date: str = "01/02/2020"
    name: str = "photo.jpg"
    contact: str = PATIENT


def write_file(root: Path, records: list[Rec]) -> None:
    (root / "records").mkdir(parents=True)
    (root / "files").mkdir()
    lines = []
    for number, rec in enumerate(records, start=1):
        data = {f.name: "" for f in images_layout().fields if f.type != "calculation"}
        data.update(
            {
                FIELDS.id: rec.id,
                FIELDS.contact_id: rec.contact,
                FIELDS.type: "Left Dorsal",
                FIELDS.filename: rec.name,
                FIELDS.date: rec.date,
                FIELDS.recid: number,
            }
        )
        for field_name, content in rec.containers.items():
            path = Path("files") / f"{number}-{field_name}.bin"
            (root / path).write_bytes(content)
            data[field_name] = str(path)
        lines.append(json.dumps(data))
    (root / "records" / "API_Images.jsonl").write_text("\n".join(lines) + "\n")
    contact = {"id": PATIENT, "First Name": "Round", "Last Name": "Two"}
    (root / "records" / "API_Contacts.jsonl").write_text(
        json.dumps({**contact, "Date of Birth": ""}) + "\n"
    )
    write_dataset_json(
        root,
        database="Clinic",
        accounts={"api": PASSWORD},
        layouts=[images_layout(), contacts_layout()],
    )


@contextmanager
def served(
    settings, s3_server: str, tls_dir: Path, tmp_path: Path, records: list[Rec]
) -> Iterator[tuple[RunningEmulator, ObjectStore]]:
    root = tmp_path / "dataset"
    write_file(root, records)
    running = start_emulator(root, tmp_path / "fm-state", tls_dir)
    try:
        point_settings_at(settings, running, s3_server, f"r2-{uuid.uuid4().hex[:12]}")
        settings.FILEMAKER = {**settings.FILEMAKER, "PASSWORD": PASSWORD}
        settings.STATE_DIR = tmp_path / "var"
        store = object_store()
        store.create_private_bucket()
        call_command("import_filemaker_patients", stdout=StringIO())
        yield running, store
    finally:
        running.server.stop()
        running.app.close()


def run_import(tmp_path: Path, name: str, *args: str) -> dict[str, dict[str, Any]]:
    """Import; the report's records by FileMaker record id."""
    path = tmp_path / f"{name}.json"
    call_command(
        "import_filemaker_images", "--report", str(path), *args, stdout=StringIO()
    )
    return {r["record_id"]: r for r in json.loads(path.read_text())["records"]}
