"""System checks: a settings mistake stops every command before it starts."""

from __future__ import annotations

from django.core.checks import run_checks
from django.db import connections


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
