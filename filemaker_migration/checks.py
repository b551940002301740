"""Django system checks: settings mistakes found by `manage.py check` and
before every management command, not halfway through an import."""

from __future__ import annotations

from django.core.checks import Error
from django.core.checks import register
from django.db import connections

from filemaker_migration.targets import TargetConfigurationError
from filemaker_migration.targets import check_target

SQLITE_HINT = (
    'set DATABASES["default"]["OPTIONS"] = {"timeout": 60, '
    '"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"} '
    "(see README.md, Using it in your own Django project)"
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
    Reads the settings only: no query."""
    connection = connections["default"]
    if connection.vendor != "sqlite":
        return []
    options = connection.settings_dict.get("OPTIONS", {})
    if options.get("transaction_mode") == "IMMEDIATE" and options.get("timeout"):
        return []
    return [
        Error(
            "SQLite without IMMEDIATE transactions and a busy timeout: the "
            "import's parallel workers would fail with 'database is locked'",
            hint=SQLITE_HINT,
            id="filemaker.E002",
        )
    ]
