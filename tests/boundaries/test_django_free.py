"""The Data API client, the emulator, the dataset, the key grammar and the S3
store work without Django: a process that imports them loads no Django at all.
"""

from __future__ import annotations

import os
import subprocess
import sys

DJANGO_FREE = (
    "filemaker_migration.dataapi",
    "filemaker_migration.emulator",
    "filemaker_migration.dataset",
    "filemaker_migration.keys",
    "filemaker_migration.layout",
    "filemaker_migration.source",
    "filemaker_migration.s3store",
    "filemaker_migration.imagecheck",
    "filemaker_migration.derivatives",
    "filemaker_migration.derivative_store",
)

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] == "django")))
"""


def django_modules_after_importing(*names: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_the_django_free_parts_load_no_django():
    assert django_modules_after_importing(*DJANGO_FREE) == ""


def test_the_probe_sees_django_when_it_is_loaded():
    assert "django" in django_modules_after_importing(
        "filemaker_migration.targets.base"
    )
