"""System checks: a settings mistake stops every command before it starts."""

from __future__ import annotations

import django
import pytest
from django.core.checks import run_checks
from django.db import connections
from django.db.utils import ConnectionHandler

from filemaker_migration import checks

DJANGO_HAS_TRANSACTION_MODE = django.VERSION >= (5, 1)
STOCK = "django.db.backends.sqlite3"
OURS = "filemaker_migration.sqlite3"
IMMEDIATE = {"timeout": 60, "transaction_mode": "IMMEDIATE"}


def check_ids() -> set[str]:
    return {message.id for message in run_checks(tags=["filemaker"])}


def test_the_reference_settings_pass():
    assert check_ids() == set()


def test_a_target_settings_mistake_is_an_error(settings):
    settings.FILEMAKER_MIGRATION_TARGET = {"BACKEND": "no.such.Target"}
    (message,) = run_checks(tags=["filemaker"])
    assert message.id == "filemaker.E001"
    assert "FILEMAKER_MIGRATION_TARGET['BACKEND']" in message.msg
    assert "\n" not in message.msg


def test_sqlite_without_immediate_transactions_is_an_error(monkeypatch):
    options = connections["default"].settings_dict["OPTIONS"]
    if connections["default"].vendor != "sqlite":
        # The same settings on PostgreSQL: nothing to say.
        monkeypatch.setitem(options, "transaction_mode", "DEFERRED")
        assert check_ids() == set()
        return
    monkeypatch.setitem(options, "transaction_mode", "DEFERRED")
    assert check_ids() == {"filemaker.E002"}


def sqlite_check(monkeypatch, engine: str, options: dict) -> list:
    """The SQLite check's answer for a default database of `engine` and
    `options` (settings only: the check opens no connection)."""
    databases = ConnectionHandler(
        {"default": {"ENGINE": engine, "NAME": "unused.sqlite3", "OPTIONS": options}}
    )
    monkeypatch.setattr(checks, "connections", databases)
    return checks.sqlite_takes_parallel_writers(None)


@pytest.mark.parametrize("engine", [STOCK, OURS])
def test_which_sqlite_engine_takes_immediate_transactions(monkeypatch, engine):
    # 5.1+: Django's own engine reads transaction_mode, ours is the same.
    # 4.2: Django's own would pass the option to sqlite3.connect(): only ours.
    errors = sqlite_check(monkeypatch, engine, IMMEDIATE)
    if engine == OURS or DJANGO_HAS_TRANSACTION_MODE:
        assert errors == []
    else:
        (error,) = errors
        assert error.id == "filemaker.E002"
        assert f'["ENGINE"] = "{OURS}"' in error.hint


@pytest.mark.parametrize(
    "options", [{"timeout": 60}, {"transaction_mode": "IMMEDIATE"}, {}]
)
def test_either_option_missing_is_an_error_on_either_engine(monkeypatch, options):
    for engine in (STOCK, OURS):
        (error,) = sqlite_check(monkeypatch, engine, options)
        assert error.id == "filemaker.E002"


def test_the_hint_names_what_to_set_on_this_django(monkeypatch):
    (error,) = sqlite_check(monkeypatch, STOCK, {})
    assert '"transaction_mode": "IMMEDIATE"' in error.hint
    assert '"timeout": 60' in error.hint
    # Naming our engine on 5.1+ would be advice nobody needs; leaving it out
    # on 4.2 would be advice that fails every connection.
    assert (OURS in error.hint) is not DJANGO_HAS_TRANSACTION_MODE
