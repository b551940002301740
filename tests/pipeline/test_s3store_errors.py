"""Each ObjectStore method turns botocore's errors into the StoreError tree.

The errors come from real servers where they can: moto's S3 server (a bucket
that does not exist, a missing key, an archived object) and a loopback port
nothing listens on (refused connections). Where neither can give the answer
(a 503 SlowDown, a 403 or 500 to a HEAD, a 409 conditional conflict, a dropped
connection or an untrusted certificate at one call), botocore's own
before-send hook answers in the server's place; each such test says so.

The stores here make one attempt per request (max_attempts=1): botocore's
backoff between attempts would only make the tests slow.
"""

from __future__ import annotations

import hashlib
import io
import socket
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import botocore.awsrequest
import botocore.exceptions
import pytest
import tenacity

from filemaker_migration.s3store import ObjectConflictError
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import PutVerificationError
from filemaker_migration.s3store import StoreError
from filemaker_migration.s3store import StoreSettings
from filemaker_migration.s3store import TerminalStoreError
from filemaker_migration.s3store import TransientStoreError

ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key"
KEY = "patients/filemaker-import/images/P1/2020-01-02/ABC.jpg"
SOURCE = "patients/filemaker-import/images/unlinked/Photo/ABC.jpg"
BODY = b"not really a jpeg"
SHA = hashlib.sha256(BODY).hexdigest()


def make_store(endpoint: str, bucket: str, **credentials: str) -> ObjectStore:
    settings = StoreSettings(
        bucket=bucket,
        endpoint_url=endpoint,
        access_key_id=credentials.get("access_key_id", ACCESS_KEY),
        secret_access_key=credentials.get("secret_access_key", SECRET_KEY),
    )
    return ObjectStore(settings, max_attempts=1)


@pytest.fixture
def store(s3_server) -> ObjectStore:
    made = make_store(s3_server, f"errors-{uuid.uuid4().hex[:12]}")
    made.create_private_bucket()
    return made


@pytest.fixture
def no_bucket(s3_server) -> ObjectStore:
    return make_store(s3_server, f"never-made-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def unreachable() -> Iterator[ObjectStore]:
    # Bound but never listening: every connection to it is refused, at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        yield make_store(f"http://127.0.0.1:{port}", "clinic-unreachable")


def put(store: ObjectStore) -> Any:
    return store.put_create_only(
        KEY, io.BytesIO(BODY), sha256=SHA, content_type="image/jpeg"
    )


# Each public method that sends a request: (its name in messages, the key the
# message names, the call).
CALLS: dict[str, tuple[str, str, Callable[[ObjectStore], Any]]] = {
    "put_create_only": ("put", KEY, put),
    "head": ("head", KEY, lambda s: s.head(KEY)),
    "read": ("get", KEY, lambda s: s.read(KEY)),
    "delete": ("delete", KEY, lambda s: s.delete(KEY)),
    "list_keys": ("list", "patients/", lambda s: s.list_keys("patients/")),
    # A copy looks at its target first: that head is the request that fails.
    "copy": ("head", KEY, lambda s: s.copy(SOURCE, KEY, sha256=SHA)),
    "create_private_bucket": (
        "create bucket",
        "clinic-unreachable",
        lambda s: s.create_private_bucket(),
    ),
}


def raised(call: Callable[[], Any]) -> StoreError:
    with pytest.raises(StoreError) as caught:
        call()
    return caught.value


def assert_names(error: StoreError, operation: str, key: str, code: str) -> None:
    message = str(error)
    assert message.startswith(f"s3 {operation} {key} failed: {code}")
    assert (error.operation, error.key, error.code) == (operation, key, code)
    assert ACCESS_KEY not in message
    assert SECRET_KEY not in message


@pytest.mark.parametrize("method", CALLS)
def test_a_refused_connection_is_transient(unreachable, method):
    operation, key, call = CALLS[method]
    error = raised(lambda: call(unreachable))
    assert type(error) is TransientStoreError
    assert_names(error, operation, key, "EndpointConnectionError")
    assert isinstance(error.__cause__, botocore.exceptions.EndpointConnectionError)
    endpoint = unreachable.settings.endpoint_url
    assert str(error).endswith(
        f"(no connection to {endpoint}: check S3_ENDPOINT_URL (empty for AWS "
        "itself) and that the server is running)"
    )


@pytest.mark.parametrize("method", ["put_create_only", "read", "delete", "list_keys"])
def test_a_missing_bucket_is_terminal(no_bucket, method):
    operation, key, call = CALLS[method]
    error = raised(lambda: call(no_bucket))
    assert type(error) is TerminalStoreError
    assert_names(error, operation, key, "NoSuchBucket")
    assert isinstance(error.__cause__, botocore.exceptions.ClientError)


def test_a_copy_into_a_missing_bucket_is_terminal(no_bucket):
    # HEAD cannot tell a missing bucket from a missing key (404 either way),
    # so the target looks free and the copy itself is refused.
    assert no_bucket.head(KEY) is None
    error = raised(lambda: no_bucket.copy(SOURCE, KEY, sha256=SHA))
    assert type(error) is TerminalStoreError
    assert_names(error, "copy", f"{SOURCE} -> {KEY}", "NoSuchBucket")


def test_reading_a_missing_key_is_terminal(store):
    # What S3 does not call an error stays none: no object to head or delete.
    assert store.head(KEY) is None
    store.delete(KEY)
    error = raised(lambda: store.read(KEY))
    assert type(error) is TerminalStoreError
    assert_names(error, "get", KEY, "NoSuchKey")


def test_copying_a_missing_source_is_terminal(store):
    error = raised(lambda: store.copy(SOURCE, KEY, sha256=SHA))
    assert type(error) is TerminalStoreError
    assert_names(error, "copy", f"{SOURCE} -> {KEY}", "NoSuchKey")


def test_reading_an_archived_object_is_terminal(store):
    store.client.put_object(
        Bucket=store.bucket, Key=KEY, Body=BODY, StorageClass="GLACIER"
    )
    assert store.head(KEY) is not None  # its metadata answers, its bytes do not
    error = raised(lambda: store.read(KEY))
    assert type(error) is TerminalStoreError
    assert_names(error, "get", KEY, "InvalidObjectState")


def test_a_conflict_and_a_bad_answer_are_terminal(store):
    assert issubclass(ObjectConflictError, TerminalStoreError)
    assert issubclass(PutVerificationError, TerminalStoreError)
    store.client.put_object(Bucket=store.bucket, Key=KEY, Body=b"someone else's")
    error = raised(lambda: put(store))
    assert type(error) is ObjectConflictError
    assert error.key == KEY


def test_presigning_without_credentials_is_terminal(s3_server, monkeypatch):
    # No credentials anywhere (the suite's _hermetic_aws fixture empties the
    # environment and config files; no instance metadata to ask either).
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    anonymous = make_store(
        s3_server, "clinic-test", access_key_id="", secret_access_key=""
    )
    error = raised(lambda: anonymous.presigned_get(KEY, expires_in=300))
    assert type(error) is TerminalStoreError
    assert_names(error, "presign", KEY, "NoCredentialsError")


def test_presigned_get_signs_the_key_and_the_download_name(store):
    url = store.presigned_get(
        KEY, expires_in=120, content_disposition='attachment; filename="a.jpg"'
    )
    assert f"/{store.bucket}/{KEY}?" in url
    assert "X-Amz-Expires=120" in url
    assert "response-content-disposition=attachment" in url


# -- answers moto's server cannot give -----------------------------------------


class _RawBody(io.BytesIO):
    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self.getvalue()


def answer(store: ObjectStore, operation: str, status: int, code: str = "") -> list:
    """Mock: S3's answer to every `operation` request, in place of the server's."""
    seen: list = []
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>"

    def respond(request: Any, **kwargs: Any) -> botocore.awsrequest.AWSResponse:
        seen.append(request.url)
        return botocore.awsrequest.AWSResponse(
            request.url,
            status,
            {"Content-Type": "application/xml"},
            _RawBody(body.encode() if code else b""),
        )

    store.client.meta.events.register(f"before-send.s3.{operation}", respond)
    return seen


def fail_connection(store: ObjectStore, operation: str, error: Exception) -> None:
    """Mock: the connection fails this way at every `operation` request."""

    def fail(request: Any, **kwargs: Any) -> None:
        raise error

    store.client.meta.events.register(f"before-send.s3.{operation}", fail)


def test_slow_down_is_transient(store):
    answer(store, "GetObject", 503, "SlowDown")
    error = raised(lambda: store.read(KEY))
    assert type(error) is TransientStoreError
    assert_names(error, "get", KEY, "SlowDown")


@pytest.mark.parametrize(
    ("status", "kind"), [(403, TerminalStoreError), (500, TransientStoreError)]
)
def test_a_head_other_than_not_found_is_raised_by_its_kind(store, status, kind):
    # A HEAD answer has no body: its status is all the code there is.
    answer(store, "HeadObject", status)
    error = raised(lambda: store.head(KEY))
    assert type(error) is kind
    assert_names(error, "head", KEY, str(status))


def test_a_conditional_conflict_that_never_clears_is_transient(store):
    seen = answer(store, "PutObject", 409, "ConditionalRequestConflict")
    # The same retries as put_create_only's, without waiting between them.
    error = raised(
        lambda: ObjectStore.put_create_only.retry_with(wait=tenacity.wait_none())(
            store, KEY, io.BytesIO(BODY), sha256=SHA, content_type="image/jpeg"
        )
    )
    assert len(seen) == 5
    assert isinstance(error, TransientStoreError)
    assert_names(error, "put", KEY, "ConditionalRequestConflict")


def test_a_connection_dropped_during_preflight_is_transient(store):
    fail_connection(
        store,
        "GetBucketEncryption",
        botocore.exceptions.ConnectionClosedError(endpoint_url=store.bucket),
    )
    error = raised(store.preflight)
    assert type(error) is TransientStoreError
    assert_names(error, "preflight", store.bucket, "ConnectionClosedError")


def test_an_untrusted_certificate_is_terminal(store):
    fail_connection(
        store,
        "DeleteObject",
        botocore.exceptions.SSLError(endpoint_url=store.bucket, error="untrusted"),
    )
    error = raised(lambda: store.delete(KEY))
    assert type(error) is TerminalStoreError
    assert_names(error, "delete", KEY, "SSLError")
