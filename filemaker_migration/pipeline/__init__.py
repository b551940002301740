"""The import pipeline: FileMaker -> checks -> S3 -> database -> FileMaker."""

from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.accounting import ImportResult
from filemaker_migration.pipeline.runner import ImportAborted
from filemaker_migration.pipeline.runner import ImportRunner

__all__ = ["ImportAborted", "ImportOptions", "ImportResult", "ImportRunner"]
