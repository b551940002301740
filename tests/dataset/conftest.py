"""One generated clinic shared by the read-only dataset tests (it takes seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from filemaker_migration.dataset.generate import generate_dataset

SHARED_IMAGES = 300
SHARED_SEED = 7


@pytest.fixture(scope="session")
def clinic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clinic")
    generate_dataset(out, images=SHARED_IMAGES, seed=SHARED_SEED)
    return out


@pytest.fixture(scope="session")
def expected(clinic_dir: Path) -> dict[str, Any]:
    return json.loads((clinic_dir / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def image_records(clinic_dir: Path) -> list[dict[str, Any]]:
    path = clinic_dir / "records" / "API_Images.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def contact_records(clinic_dir: Path) -> list[dict[str, Any]]:
    path = clinic_dir / "records" / "API_Contacts.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
