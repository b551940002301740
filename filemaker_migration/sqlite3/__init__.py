"""SQLite with the `transaction_mode` and `init_command` OPTIONS on every
supported Django: `DATABASES["default"]["ENGINE"] = "filemaker_migration.sqlite3"`.
See base.py (the module Django loads as the backend)."""

from filemaker_migration.sqlite3.base import NATIVE
from filemaker_migration.sqlite3.base import DatabaseWrapper

__all__ = ["NATIVE", "DatabaseWrapper"]
