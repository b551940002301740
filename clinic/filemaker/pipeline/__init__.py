"""The import pipeline: FileMaker -> checks -> S3 -> database -> FileMaker."""

from clinic.filemaker.pipeline.accounting import ImportOptions
from clinic.filemaker.pipeline.accounting import ImportResult
from clinic.filemaker.pipeline.runner import ImportAborted
from clinic.filemaker.pipeline.runner import ImportRunner

__all__ = ["ImportAborted", "ImportOptions", "ImportResult", "ImportRunner"]
