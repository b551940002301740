"""The operations' common starting point: the synthetic clinic imported."""

from __future__ import annotations

import pytest

from tests.operations.helpers import import_patients
from tests.operations.helpers import run_import
from tests.operations.helpers import verify


@pytest.fixture
def imported(migration_env, emulator):
    """Patients, then images (8 workers), and verify CLEAN before any test
    plants its fault; the bucket's store is the value."""
    import_patients()
    run_import("--workers", "8")
    assert "CLEAN" in verify()
    return migration_env
