"""Operating the migration: discover, test one, verify, repair, relink, roll
back, refresh.

Each module holds one operation's logic and returns its result as data; the
management commands of the same names only parse options and print. Code
outside the package imports only these names.
"""

from filemaker_migration.operations.discover import Discovery
from filemaker_migration.operations.discover import discover
from filemaker_migration.operations.findings import Verification
from filemaker_migration.operations.patients import import_patients
from filemaker_migration.operations.probe import ProbeError
from filemaker_migration.operations.probe import probe_container
from filemaker_migration.operations.records import iter_records
from filemaker_migration.operations.refresh import refresh_changed
from filemaker_migration.operations.relink import Relinker
from filemaker_migration.operations.repair import Repairer
from filemaker_migration.operations.rollback import Rollback
from filemaker_migration.operations.rollback import entries_for
from filemaker_migration.operations.verify import Verifier

__all__ = [
    "Discovery",
    "ProbeError",
    "Relinker",
    "Repairer",
    "Rollback",
    "Verification",
    "Verifier",
    "discover",
    "entries_for",
    "import_patients",
    "iter_records",
    "probe_container",
    "refresh_changed",
]
