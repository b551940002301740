"""SQLite with the `transaction_mode` and `init_command` OPTIONS on every
supported Django: `DATABASES["default"]["ENGINE"] = "filemaker_migration.sqlite3"`.
See base.py."""
