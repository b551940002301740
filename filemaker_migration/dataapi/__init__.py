"""A FileMaker Data API client (no Django imports).

from filemaker_migration.dataapi import DataAPIClient
"""

from filemaker_migration.dataapi._client import DataAPIClient
from filemaker_migration.dataapi._errors import AuthenticationError
from filemaker_migration.dataapi._errors import ContainerError
from filemaker_migration.dataapi._errors import ContainerTooLargeError
from filemaker_migration.dataapi._errors import ContainerUnauthorizedError
from filemaker_migration.dataapi._errors import DataAPIError
from filemaker_migration.dataapi._errors import FieldMissingError
from filemaker_migration.dataapi._errors import FileMakerError
from filemaker_migration.dataapi._errors import HTTPStatusError
from filemaker_migration.dataapi._errors import InvalidTokenError
from filemaker_migration.dataapi._errors import LayoutMissingError
from filemaker_migration.dataapi._errors import ModIdMismatchError
from filemaker_migration.dataapi._errors import NoRecordsMatchError
from filemaker_migration.dataapi._errors import RecordMissingError
from filemaker_migration.dataapi._errors import ServerBusyError
from filemaker_migration.dataapi._errors import TLSVerificationError
from filemaker_migration.dataapi._errors import TooManySessionsError
from filemaker_migration.dataapi._errors import Transient
from filemaker_migration.dataapi._errors import TransportError
from filemaker_migration.dataapi._limiter import AdaptiveLimiter
from filemaker_migration.dataapi._types import ContainerDownload
from filemaker_migration.dataapi._types import FieldMeta
from filemaker_migration.dataapi._types import Page
from filemaker_migration.dataapi._types import Record
from filemaker_migration.dataapi._types import format_date
from filemaker_migration.dataapi._types import format_timestamp
from filemaker_migration.dataapi._types import parse_date

__all__ = [
    "AdaptiveLimiter",
    "AuthenticationError",
    "ContainerDownload",
    "ContainerError",
    "ContainerTooLargeError",
    "ContainerUnauthorizedError",
    "DataAPIClient",
    "DataAPIError",
    "FieldMeta",
    "FieldMissingError",
    "FileMakerError",
    "HTTPStatusError",
    "InvalidTokenError",
    "LayoutMissingError",
    "ModIdMismatchError",
    "NoRecordsMatchError",
    "Page",
    "Record",
    "RecordMissingError",
    "ServerBusyError",
    "TLSVerificationError",
    "TooManySessionsError",
    "Transient",
    "TransportError",
    "format_date",
    "format_timestamp",
    "parse_date",
]
