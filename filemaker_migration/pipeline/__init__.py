"""The import pipeline: FileMaker -> checks -> S3 -> database -> FileMaker.

Code outside the package imports only these names.
"""

from filemaker_migration.pipeline.accounting import TRIPWIRE_AFTER
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.accounting import ImportResult
from filemaker_migration.pipeline.mark import mark_exported
from filemaker_migration.pipeline.persist import batch_for
from filemaker_migration.pipeline.persist import facts_from_filemaker
from filemaker_migration.pipeline.persist import image_facts
from filemaker_migration.pipeline.persist import lock_batch
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.runner import LOCK_NAME
from filemaker_migration.pipeline.runner import ImportAborted
from filemaker_migration.pipeline.runner import ImportRunner
from filemaker_migration.pipeline.select import ChecksumMismatchError
from filemaker_migration.pipeline.select import Chosen
from filemaker_migration.pipeline.select import NoUsableImageError
from filemaker_migration.pipeline.select import choose_container
from filemaker_migration.pipeline.summary import format_summary
from filemaker_migration.pipeline.summary import latest_prediction
from filemaker_migration.pipeline.workers import NoRunToJoin
from filemaker_migration.pipeline.workers import Worker
from filemaker_migration.pipeline.workers import WorkerFailed
from filemaker_migration.pipeline.workers import running_run

__all__ = [
    "LOCK_NAME",
    "TRIPWIRE_AFTER",
    "ChecksumMismatchError",
    "Chosen",
    "ImportAborted",
    "ImportOptions",
    "ImportResult",
    "ImportRunner",
    "NoRunToJoin",
    "NoUsableImageError",
    "Progress",
    "RecordOutcome",
    "Worker",
    "WorkerFailed",
    "batch_for",
    "choose_container",
    "facts_from_filemaker",
    "format_summary",
    "image_facts",
    "latest_prediction",
    "lock_batch",
    "mark_exported",
    "running_run",
]
