"""What every command checks before it touches anything, one line per problem:
the target's settings, the database reachable, its migrations applied."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from filemaker_migration.targets import check_target


class NotReadyError(ImproperlyConfigured):
    """The project is not set up for the migration yet (one line, with the fix)."""


def ready_to_run() -> None:
    check_target()
    connection = connections["default"]
    settings = connection.settings_dict
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        where = settings.get("NAME") or "?"
        if settings.get("HOST"):
            where += f" on {settings['HOST']}:{settings.get('PORT') or 'default port'}"
        # The driver's first line says why; the URL (with its password) is
        # never repeated.
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise NotReadyError(
            f"cannot reach the {connection.vendor} database {where}: {why} "
            "(check DATABASE_URL)"
        ) from None
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise NotReadyError(
            f"the database is not migrated ({len(plan)} migration(s) to apply): "
            "run `python manage.py migrate` first (docs/run-book.md)"
        )
