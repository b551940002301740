"""A FileMaker Data API client (no Django imports).

from filemaker_migration.dataapi import DataAPIClient
"""

from filemaker_migration.dataapi._client import DataAPIClient
from filemaker_migration.dataapi._errors import AuthenticationError
from filemaker_migration.dataapi._errors import ContainerError
from filemaker_migration.dataapi._errors import ContainerNotDataError
from filemaker_migration.dataapi._errors import ContainerStaleURLError
from filemaker_migration.dataapi._errors import ContainerStoredByReferenceError
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
from filemaker_migration.dataapi._errors import RecordInUseError
from filemaker_migration.dataapi._errors import RecordMissingError
from filemaker_migration.dataapi._errors import RequestRejectedError
from filemaker_migration.dataapi._errors import ServerBusyError
from filemaker_migration.dataapi._errors import TLSVerificationError
from filemaker_migration.dataapi._errors import TooManySessionsError
from filemaker_migration.dataapi._errors import TransferLimitError
from filemaker_migration.dataapi._errors import Transient
from filemaker_migration.dataapi._errors import TransportError
from filemaker_migration.dataapi._errors import UnreachableError
from filemaker_migration.dataapi._limiter import AdaptiveLimiter
from filemaker_migration.dataapi._types import ContainerDownload
from filemaker_migration.dataapi._types import FieldMeta
from filemaker_migration.dataapi._types import Observations
from filemaker_migration.dataapi._types import Page
from filemaker_migration.dataapi._types import Record
from filemaker_migration.dataapi._types import TransferCounter
from filemaker_migration.dataapi._types import format_date
from filemaker_migration.dataapi._types import format_timestamp
from filemaker_migration.dataapi._types import is_streamable
from filemaker_migration.dataapi._types import parse_date
from filemaker_migration.dataapi._types import reference_kind

__all__ = [
    "AdaptiveLimiter",
    "AuthenticationError",
    "ContainerDownload",
    "ContainerError",
    "ContainerNotDataError",
    "ContainerStaleURLError",
    "ContainerStoredByReferenceError",
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
    "Observations",
    "Page",
    "Record",
    "RecordInUseError",
    "RecordMissingError",
    "RequestRejectedError",
    "ServerBusyError",
    "TLSVerificationError",
    "TooManySessionsError",
    "TransferCounter",
    "TransferLimitError",
    "Transient",
    "TransportError",
    "UnreachableError",
    "format_date",
    "format_timestamp",
    "is_streamable",
    "parse_date",
    "reference_kind",
]
