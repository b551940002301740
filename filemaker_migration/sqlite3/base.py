"""Django's SQLite backend, with IMMEDIATE transactions on Django 4.2 too.

The import's parallel workers need `BEGIN IMMEDIATE` on SQLite: a transaction
that takes the write lock up front waits on the busy timeout for another
writer, while a plain `BEGIN` that upgrades its read lock later fails at once
with "database is locked". Django 5.1 added the OPTIONS `transaction_mode` and
`init_command` for this; on 4.2 they reach `sqlite3.connect()` and every
connection fails (`TypeError: 'transaction_mode' is an invalid keyword
argument`), and `atomic()` runs a plain `BEGIN`.

On Django 5.1+ this is Django's backend unchanged. On 4.2 it takes both
options off the connect arguments, runs the `init_command` statements on each
new connection, and begins transactions with `BEGIN <transaction_mode>`, as
5.1+ does (django/db/backends/sqlite3/base.py).
"""

from __future__ import annotations

import django
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base

# Django 5.1+ reads both options itself.
NATIVE = django.VERSION >= (5, 1)


class DatabaseWrapper(base.DatabaseWrapper):
    if not NATIVE:
        transaction_modes = frozenset(["DEFERRED", "EXCLUSIVE", "IMMEDIATE"])
        transaction_mode: str | None = None
        init_commands: list[str] = []

        def get_connection_params(self):
            kwargs = super().get_connection_params()
            mode = kwargs.pop("transaction_mode", None)
            if mode is not None and mode.upper() not in self.transaction_modes:
                raise ImproperlyConfigured(
                    f"settings.DATABASES[{self.alias!r}]['OPTIONS']"
                    f"['transaction_mode'] is improperly configured to {mode!r}. "
                    "Use one of 'DEFERRED', 'EXCLUSIVE', 'IMMEDIATE', or None."
                )
            self.transaction_mode = mode.upper() if mode else None
            self.init_commands = kwargs.pop("init_command", "").split(";")
            return kwargs

        def get_new_connection(self, conn_params):
            conn = super().get_new_connection(conn_params)
            for command in self.init_commands:
                if command := command.strip():
                    conn.execute(command)
            return conn

        def _start_transaction_under_autocommit(self):
            mode = self.transaction_mode
            self.cursor().execute(f"BEGIN {mode}" if mode else "BEGIN")
