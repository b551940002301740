"""A FileMaker Data API client (no Django imports).

from clinic.filemaker.dataapi import DataAPIClient
"""

from clinic.filemaker.dataapi._client import DataAPIClient
from clinic.filemaker.dataapi._errors import AuthenticationError
from clinic.filemaker.dataapi._errors import ContainerError
from clinic.filemaker.dataapi._errors import ContainerTooLargeError
from clinic.filemaker.dataapi._errors import ContainerUnauthorizedError
from clinic.filemaker.dataapi._errors import DataAPIError
from clinic.filemaker.dataapi._errors import FieldMissingError
from clinic.filemaker.dataapi._errors import FileMakerError
from clinic.filemaker.dataapi._errors import HTTPStatusError
from clinic.filemaker.dataapi._errors import InvalidTokenError
from clinic.filemaker.dataapi._errors import LayoutMissingError
from clinic.filemaker.dataapi._errors import ModIdMismatchError
from clinic.filemaker.dataapi._errors import NoRecordsMatchError
from clinic.filemaker.dataapi._errors import RecordMissingError
from clinic.filemaker.dataapi._errors import ServerBusyError
from clinic.filemaker.dataapi._errors import TLSVerificationError
from clinic.filemaker.dataapi._errors import TooManySessionsError
from clinic.filemaker.dataapi._errors import Transient
from clinic.filemaker.dataapi._errors import TransportError
from clinic.filemaker.dataapi._limiter import AdaptiveLimiter
from clinic.filemaker.dataapi._types import ContainerDownload
from clinic.filemaker.dataapi._types import FieldMeta
from clinic.filemaker.dataapi._types import Page
from clinic.filemaker.dataapi._types import Record
from clinic.filemaker.dataapi._types import format_date
from clinic.filemaker.dataapi._types import format_timestamp
from clinic.filemaker.dataapi._types import parse_date

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
