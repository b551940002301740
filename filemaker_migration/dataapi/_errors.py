"""Errors raised by the Data API client, classified by what the caller does next.

    DataAPIError                      anything the client raises
    ├── TransportError [Transient]    timeout, refused or dropped connection
    │   ├── UnreachableError          refused, unknown host, no answer to connect
    │   │                             (final until the server has answered once)
    │   └── TLSVerificationError      the server's certificate is not trusted (terminal)
    ├── HTTPStatusError               a non-JSON answer from the web server
    │   └── ServerBusyError [Transient]  429 / 5xx from the web server (502, 503, 504)
    ├── FileMakerError                FileMaker answered with an error code (.code)
    │   ├── InvalidTokenError [Transient]   952: log in again and replay
    │   ├── AuthenticationError       212 / 10: wrong account or password
    │   ├── NoRecordsMatchError       401: a find matched nothing
    │   ├── RecordMissingError        101
    │   ├── FieldMissingError         102: a field is not on the layout
    │   ├── LayoutMissingError        105
    │   ├── RecordInUseError [Transient]    301: someone has the record open
    │   ├── ModIdMismatchError        306: someone else changed the record
    │   ├── TransferLimitError        953: the licence's outbound transfer is used up
    │   ├── TooManySessionsError [Transient]  956 / 812: host at capacity
    │   └── RequestRejectedError      960 (HTTP 400/415): the request was malformed
    └── ContainerError                a container download failed
        ├── ContainerUnauthorizedError      401/403/404 from the streaming URL
        │   └── ContainerStaleURLError      a redirect without the session cookie
        ├── ContainerTooLargeError          larger than the configured maximum
        ├── ContainerStoredByReferenceError the value is a file path, not a URL
        └── ContainerNotDataError [Transient]  a 200 with an HTML page, not the file

`Transient` marks errors worth retrying with backoff; everything else is final
for the call that raised it.
"""

from __future__ import annotations

from urllib.parse import unquote


class Transient:
    """Mixin: the same request may succeed if tried again after a pause."""


class DataAPIError(Exception):
    """Base class of everything the client raises."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


class TransportError(Transient, DataAPIError):
    """The request did not complete: timeout, refused or dropped connection."""


class UnreachableError(TransportError):
    """No connection could be made: refused, an unknown host name, or no
    answer to connect. Retried like any transport error once the server has
    answered (it may be restarting), but not before: at a command's first
    request it is a setting or a firewall, and retrying only delays saying so."""


class TLSVerificationError(DataAPIError):
    """The server's certificate could not be verified against the trusted CAs."""


class HTTPStatusError(DataAPIError):
    """A non-JSON answer, e.g. an HTML error page from the web server."""


class ServerBusyError(Transient, HTTPStatusError):
    """429 or 5xx from the web server: slow down and try again."""

    def __init__(
        self, message: str, *, http_status: int | None = None, retry_after: float | None
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after


class FileMakerError(DataAPIError):
    """FileMaker answered with a non-zero error code."""

    def __init__(
        self, code: int, message: str, *, http_status: int | None = None
    ) -> None:
        super().__init__(f"FileMaker error {code}: {message}", http_status=http_status)
        self.code = code
        self.fm_message = message


class InvalidTokenError(Transient, FileMakerError):
    """952: the session token expired or was never valid; log in again."""


class AuthenticationError(FileMakerError):
    """212 (or 10 at login): the account name or password is wrong."""


class NoRecordsMatchError(FileMakerError):
    """401: a find request matched no records (an empty result, not a failure)."""


class RecordMissingError(FileMakerError):
    """101: no record with that id, or an empty range."""


class FieldMissingError(FileMakerError):
    """102: a field named in the request is not on the layout."""


class LayoutMissingError(FileMakerError):
    """105: no layout by that name in the database."""


class ModIdMismatchError(FileMakerError):
    """306: the record changed since its modId was read."""


class TooManySessionsError(Transient, FileMakerError):
    """956 / 812: the host has no room for another session or request right now."""


class RecordInUseError(Transient, FileMakerError):
    """301: the record is open in another window (a user editing it); nothing
    changed. Worth retrying after a pause, within the run."""


class TransferLimitError(FileMakerError):
    """953: the licence's annual outbound transfer (Data API and OData, pooled)
    is used up. Nothing more can be read until the server's counter resets or
    the allowance is raised: stop, saying how far the run got."""


class RequestRejectedError(FileMakerError):
    """960 (HTTP 400) or HTTP 415: the server refused the request as malformed
    (an unknown key, a missing Content-Type). A bug, not worth retrying."""


class ContainerError(DataAPIError):
    """A container could not be downloaded."""


class ContainerUnauthorizedError(ContainerError):
    """401/403/404 from the streaming URL: it expired; read the record again."""


class ContainerStaleURLError(ContainerUnauthorizedError):
    """The streaming URL redirected without a session cookie: it is stale
    (fmrest-ruby: download again right after reading the record)."""


class ContainerTooLargeError(ContainerError):
    """The container is larger than the configured maximum size."""


class ContainerStoredByReferenceError(ContainerError):
    """The container holds a file reference (file:, filewin:, ...), not data
    FileMaker can stream: final, never retried."""


class ContainerNotDataError(Transient, ContainerError):
    """A 200 whose body is a web page (a proxy's or a login page), not the
    container's bytes: retried, and never taken for the file."""


_BY_CODE: dict[int, type[FileMakerError]] = {
    952: InvalidTokenError,
    212: AuthenticationError,
    401: NoRecordsMatchError,
    101: RecordMissingError,
    102: FieldMissingError,
    105: LayoutMissingError,
    301: RecordInUseError,
    306: ModIdMismatchError,
    953: TransferLimitError,
    956: TooManySessionsError,
    812: TooManySessionsError,
    960: RequestRejectedError,
}


def filemaker_error(code: int, message: str, http_status: int | None) -> FileMakerError:
    """The most specific FileMakerError class for a code."""
    return _BY_CODE.get(code, FileMakerError)(code, message, http_status=http_status)


def what_to_check(code: int, path: str) -> str:
    """For the codes a first setup meets, which setting or privilege to check,
    read from the request's own path (`/fmi/data/vN/databases/DB/layouts/L/…`);
    "" for other codes. Names, never the account or password."""
    parts = [unquote(part) for part in path.split("/")]

    def after(word: str) -> str:
        return parts[parts.index(word) + 1] if word in parts[:-1] else "?"

    if code == 105:
        return (
            f"layout {after('layouts')!r} is not in database {after('databases')!r}, "
            "or the account's privilege set cannot see it: check FM_LAYOUT / "
            "FM_CONTACTS_LAYOUT"
        )
    if code == 802:
        return (
            f"database {after('databases')!r} is not hosted or not open on the "
            "server: check FM_DATABASE"
        )
    if code == 212:
        return (
            "the account was refused: check FM_ACCOUNT and FM_PASSWORD, and that "
            "its privilege set has the fmrest extended privilege (Access via "
            "FileMaker Data API)"
        )
    return ""
