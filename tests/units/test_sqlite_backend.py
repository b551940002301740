"""filemaker_migration.sqlite3: IMMEDIATE transactions on every supported Django.

Two connections of the backend to one SQLite file, outside the test
database (so this runs whatever database the suite uses). With a plain
`BEGIN` (Django 4.2's own backend), a transaction that has only read holds
no write lock, and a second writer gets one at once; with `BEGIN IMMEDIATE`
the first `atomic()` holds the write lock from its start.
"""

from __future__ import annotations

import sqlite3

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.utils import ConnectionHandler

from filemaker_migration.sqlite3 import DatabaseWrapper

WAL = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"


@pytest.fixture
def database(tmp_path, django_db_blocker, monkeypatch):
    """A ConnectionHandler whose one alias, "default", is our backend on a
    new file, put in place of django.db.connections for transaction.atomic()."""
    name = tmp_path / "immediate.sqlite3"
    sqlite3.connect(name).close()
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "filemaker_migration.sqlite3",
                "NAME": str(name),
                "OPTIONS": {"timeout": 5, "transaction_mode": "IMMEDIATE"}
                | {"init_command": WAL},
            }
        }
    )
    monkeypatch.setattr(transaction, "connections", handler)
    with django_db_blocker.unblock():
        yield handler["default"], name
        handler["default"].close()


def other_writer(name) -> sqlite3.Connection:
    # timeout=0: a held write lock is an error at once, not a wait.
    return sqlite3.connect(name, timeout=0, isolation_level=None)


def test_the_engine_is_this_backend(database):
    connection, _name = database
    assert isinstance(connection, DatabaseWrapper)
    assert connection.vendor == "sqlite"


def test_atomic_takes_the_write_lock_at_its_start(database):
    connection, name = database
    other = other_writer(name)
    try:
        with transaction.atomic():
            # Only a read: with a plain BEGIN no write lock would be held yet.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            assert connection.in_atomic_block
            assert connection.connection.in_transaction
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        # Committed: the other writer gets the lock now.
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_init_command_runs_on_every_connection(database):
    connection, _name = database
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone() == ("wal",)
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone() == (1,)  # NORMAL


def test_an_unknown_transaction_mode_is_a_settings_error(tmp_path, django_db_blocker):
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "filemaker_migration.sqlite3",
                "NAME": str(tmp_path / "x.sqlite3"),
                "OPTIONS": {"transaction_mode": "SOMETIMES"},
            }
        }
    )
    with (
        django_db_blocker.unblock(),
        pytest.raises(ImproperlyConfigured, match="transaction_mode"),
    ):
        handler["default"].ensure_connection()
