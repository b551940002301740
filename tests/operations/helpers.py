"""Calling the operations' commands the way an operator does, output captured."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from filemaker_migration.conf import FileMakerSettings
from tests.clinic_rows import add_patient
from tests.pipeline.checks import expected_records


def command(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def import_patients() -> None:
    command("import_filemaker_patients")


def run_import(*args: str) -> str:
    return command("import_filemaker_images", *args)


def verify(*args: str) -> str:
    return command("verify_filemaker_images", *args)


def missing_contacts(dataset) -> set[str]:
    return {
        r["id_Contact"].upper()
        for r in expected_records(dataset).values()
        if not r["contact_exists"]
    }


def add_missing_patients(dataset) -> int:
    missing = missing_contacts(dataset)
    for contact_id in sorted(missing):
        add_patient(contact_id)
    return len(missing)


def fm_client():
    fm = FileMakerSettings.from_settings()
    return fm, fm.client(max_concurrency=2)
