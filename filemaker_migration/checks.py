"""Django system checks: settings mistakes found by `manage.py check` and
before every management command, not halfway through an import."""

from __future__ import annotations

from django.core.checks import Error
from django.core.checks import register
from django.db import connections

from filemaker_migration.sqlite3 import NATIVE
from filemaker_migration.sqlite3 import DatabaseWrapper as ImmediateSQLite
from filemaker_migration.targets import TargetConfigurationError
from filemaker_migration.targets import check_target

SQLITE_OPTIONS = (
    'DATABASES["default"]["OPTIONS"] = {"timeout": 60, '
    '"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}'
)
SEE_GUIDE = "(see docs/own-project.md)"
# Django 5.1+ takes transaction_mode itself (ours is the same backend there).
SQLITE_HINT = f"set {SQLITE_OPTIONS} {SEE_GUIDE}"
# Django 4.2's own SQLite backend has no transaction_mode: only ours.
SQLITE_HINT_DJANGO_42 = (
    'set DATABASES["default"]["ENGINE"] = "filemaker_migration.sqlite3" '
    f"(Django 4.2's SQLite backend has no transaction_mode) and {SQLITE_OPTIONS} "
    f"{SEE_GUIDE}"
)


@register("filemaker")
def target_is_configured(app_configs, **kwargs) -> list[Error]:
    try:
        check_target()
    except TargetConfigurationError as exc:
        return [Error(str(exc), id="filemaker.E001")]
    return []


@register("filemaker")
def sqlite_takes_parallel_writers(app_configs, **kwargs) -> list[Error]:
    """The import's workers write at once: on SQLite, without IMMEDIATE
    transactions and a busy timeout, most of them fail with "database is
    locked" (a writer that upgrades a read lock cannot wait for the lock).
    Before Django 5.1 only filemaker_migration.sqlite3 knows the option (with
    Django's backend the connection fails). Reads the settings only: no query."""
    connection = connections["default"]
    if connection.vendor != "sqlite":
        return []
    options = connection.settings_dict.get("OPTIONS", {})
    immediate = str(options.get("transaction_mode", "")).upper() == "IMMEDIATE"
    understood = NATIVE or isinstance(connection, ImmediateSQLite)
    if immediate and options.get("timeout") and understood:
        return []
    return [
        Error(
            "SQLite without IMMEDIATE transactions and a busy timeout: the "
            "import's parallel workers would fail with 'database is locked'",
            hint=SQLITE_HINT if NATIVE else SQLITE_HINT_DJANGO_42,
            id="filemaker.E002",
        )
    ]
