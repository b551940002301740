from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from filemaker_migration.dataset import load_dataset
from filemaker_migration.dataset.generate import account_password


def test_command_writes_a_dataset_and_prints_no_password(tmp_path):
    out = StringIO()
    call_command(
        "generate_filemaker_dataset",
        "--out",
        str(tmp_path),
        "--images",
        "50",
        "--seed",
        "3",
        stdout=out,
    )
    assert "Wrote 50 images for 10 patients" in out.getvalue()
    assert account_password(3) not in out.getvalue()
    assert load_dataset(tmp_path).accounts == {"api": account_password(3)}
    expected = json.loads((tmp_path / "expected.json").read_text())
    assert len(expected["records"]) == 50


def test_command_refuses_a_non_empty_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(CommandError, match=str(tmp_path)):
        call_command(
            "generate_filemaker_dataset", "--out", str(tmp_path), stdout=StringIO()
        )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_command_force_replaces_a_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("replace me")
    call_command(
        "generate_filemaker_dataset",
        "--out",
        str(tmp_path),
        "--images",
        "5",
        "--force",
        stdout=StringIO(),
    )
    assert not (tmp_path / "notes.txt").exists()
    assert (tmp_path / "dataset.json").exists()


def test_command_rejects_zero_images(tmp_path):
    with pytest.raises(CommandError, match="at least 1"):
        call_command(
            "generate_filemaker_dataset",
            "--out",
            str(tmp_path),
            "--images",
            "0",
            stdout=StringIO(),
        )
