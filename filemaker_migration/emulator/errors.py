"""FileMaker errors the emulator answers with.

Each class carries the FileMaker code, its usual message and the HTTP status the
real server pairs it with (moto's ``MissingBucket.code = 404`` pattern). The
handlers raise them; ``responses.error_response`` renders the JSON envelope.

    FileMakerError
    ├── MissingAuthorization      10  / 401
    ├── RecordMissing            101  / 500
    ├── FieldMissing             102  / 500
    ├── LayoutMissing            105  / 500
    ├── FieldNotModifiable       201  / 500
    ├── InvalidAccount           212  / 401
    ├── ModIdMismatch            306  / 500
    ├── FindCriteriaEmpty        400  / 500
    ├── NoRecordsMatch           401  / 500
    ├── DateValidation           500  / 500
    ├── DatabaseMissing          802  / 500
    ├── UnexpectedError          951  / 500
    ├── InvalidToken             952  / 401
    ├── TooManySessions          956  / 500  (HTTP status UNCONFIRMED)
    ├── ParameterMissing         958  / 500  (HTTP status UNCONFIRMED)
    ├── ParameterInvalid         960  / 500
    ├── ResourceMissing         1700  / 404
    ├── MethodNotSupported      1704  / 405
    └── BadJson                 1710  / 400  (HTTP status UNCONFIRMED)
"""

from __future__ import annotations


class FileMakerError(Exception):
    """Base: a FileMaker error answered as ``{"messages": [{"code": ...}]}``."""

    code: int = 951
    message: str = "An unexpected error occurred (*)"
    http_status: int = 500

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(f"FileMaker error {self.code}: {self.message}")


class MissingAuthorization(FileMakerError):
    """A call that needs credentials came without an Authorization header."""

    code = 10
    message = "HTTP Authorization header or OAuth headers are missing."
    http_status = 401


class RecordMissing(FileMakerError):
    """Unknown recordId, an empty table, or a page past the end of a range."""

    code = 101
    message = "Record is missing"


class FieldMissing(FileMakerError):
    """A field name in a find, sort, create or edit is not on the layout."""

    code = 102
    message = "Field is missing"


class LayoutMissing(FileMakerError):
    """The layout in the URL (or in layout.response) does not exist."""

    code = 105
    message = "Layout is missing"


class FieldNotModifiable(FileMakerError):
    """A create or edit tried to write a calculation field."""

    code = 201
    message = "Field cannot be modified"


class InvalidAccount(FileMakerError):
    """Login with an unknown account or a wrong password."""

    code = 212
    message = "Invalid user account and/or password; please try again"
    http_status = 401


class ModIdMismatch(FileMakerError):
    """An edit's modId differs from the record's current one; nothing changed."""

    code = 306
    message = "Record modification ID does not match"


class FindCriteriaEmpty(FileMakerError):
    """A find without any criterion."""

    code = 400
    message = "Find criteria are empty"


class NoRecordsMatch(FileMakerError):
    """A find matched nothing (or its page starts past the found set)."""

    code = 401
    message = "No records match the request"


class DateValidation(FileMakerError):
    """A date, time or timestamp value that FileMaker cannot read."""

    code = 500
    message = "Date value does not meet validation entry options"


class DatabaseMissing(FileMakerError):
    """The database in the URL is not hosted."""

    code = 802
    message = "Unable to open file"


class UnexpectedError(FileMakerError):
    """Generic server failure; used by the fail-every-Nth-PATCH knob."""


class InvalidToken(FileMakerError):
    """Unknown, logged-out or idle-expired Data API token."""

    code = 952
    message = "Invalid FileMaker Data API token (*)"
    http_status = 401


class TooManySessions(FileMakerError):
    """Login beyond the session cap. The HTTP status is UNCONFIRMED."""

    code = 956
    message = "Maximum number of database sessions exceeded (*)"


class ParameterMissing(FileMakerError):
    """A required body key (e.g. fieldData) is absent. Status UNCONFIRMED."""

    code = 958
    message = "Parameter missing (*)"


class ParameterInvalid(FileMakerError):
    """A parameter has a value FileMaker cannot use (e.g. _limit=abc)."""

    code = 960
    message = "Parameter is invalid"


class ResourceMissing(FileMakerError):
    """The URL does not match the Data API schema."""

    code = 1700
    message = "Resource doesn't exist (*)"
    http_status = 404


class MethodNotSupported(FileMakerError):
    """Wrong HTTP method for the URL; the Data API has no OPTIONS/CORS either."""

    code = 1704
    message = "Resource doesn't support the specified HTTP verb (*)"
    http_status = 405


class BadJson(FileMakerError):
    """The request body is not a JSON object. The HTTP status is UNCONFIRMED."""

    code = 1710
    message = "JSON input isn't syntactically valid (*)"
    http_status = 400
