"""Create-only, checksummed, encrypted writes to S3 (no Django imports).

Every put carries the object's SHA-256 (S3 recomputes it and refuses a
mismatch), server-side encryption, and If-None-Match: * so that nothing is ever
overwritten. A put that meets an existing object compares checksums: the same
SHA-256 means the object is already there (e.g. a retried put whose first
answer was lost), a different one is a conflict that is reported.

The only module that talks to S3. No botocore error leaves it: ObjectStore's
public methods raise these, so that a caller can fail one image and go on:

    StoreError
    ├── TransientStoreError  SlowDown, 5xx, timeouts, lost connections: later
    └── TerminalStoreError   AccessDenied, NoSuchBucket, NoSuchKey, bad request,
        │                    InvalidObjectState, no credentials: fix first
        ├── ObjectConflictError
        └── PutVerificationError
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.parse import urlsplit

import boto3
import botocore.exceptions as boto_errors
import tenacity
from botocore.config import Config


class StoreError(Exception):
    """S3 refused or failed a request; the message names the operation and key."""

    def __init__(
        self, message: str, *, operation: str = "", key: str = "", code: str = ""
    ) -> None:
        super().__init__(message)
        self.operation, self.key = operation, key
        self.code = code  # S3's error code; botocore's error class if no answer


class TransientStoreError(StoreError):
    """The same request may succeed later (botocore has already retried it)."""


class TerminalStoreError(StoreError):
    """Retrying will not help: the bucket, object, permissions or request is wrong."""


class ObjectConflictError(TerminalStoreError):
    """An object with different content already exists at the key."""

    def __init__(self, key: str, existing_sha256: str, wanted_sha256: str) -> None:
        existing = existing_sha256 or "unknown"
        super().__init__(
            f"s3 object {key} already exists with SHA-256 {existing}, "
            f"not {wanted_sha256}; it was not overwritten",
            key=key,
        )
        self.existing_sha256 = existing_sha256


class PutVerificationError(TerminalStoreError):
    """S3's answer to a put lacks the expected encryption or checksum."""


class _ConditionalConflict(TransientStoreError):
    """409: a concurrent conditional write; put_create_only retries it."""

    def __init__(self, key: str) -> None:
        code, text = "ConditionalRequestConflict", f"s3 put {key} failed"
        super().__init__(f"{text}: {code}", operation="put", key=key, code=code)


# "Not now" codes that may come without a 5xx or 429 status (always transient).
_NOT_NOW = frozenset({"SlowDown", "Throttling", "RequestTimeout", "OperationAborted"})
# botocore's errors for a request that got no (whole) answer: refused, dropped
# or timed-out connections. Not SSLError: an untrusted certificate stays so.
_UNANSWERED = (boto_errors.ConnectionError, boto_errors.HTTPClientError)
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


def _code(exc: boto_errors.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(operation: str, key: str, exc: Exception) -> StoreError:
    """The StoreError of the right kind; its message never quotes the request
    (its headers, like a presigned URL, carry signatures)."""
    code, detail = type(exc).__name__, ""
    unanswered = isinstance(exc, (*_UNANSWERED, boto_errors.IncompleteReadError))
    transient = unanswered and not isinstance(exc, boto_errors.SSLError)
    if isinstance(exc, boto_errors.ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = _code(exc) or str(status)
        if message := exc.response.get("Error", {}).get("Message"):
            detail = f" ({message})"
        transient = code in _NOT_NOW or status >= 500 or status == 429
    elif isinstance(exc, boto_errors.ConnectionError):
        detail = _unreached(exc)
    kind = TransientStoreError if transient else TerminalStoreError
    text = f"s3 {operation} {key} failed: {code}{detail}"
    return kind(text, operation=operation, key=key, code=code)


def _unreached(exc: boto_errors.ConnectionError) -> str:
    """What to check when no connection was made: the endpoint (scheme, host
    and port only: the URL's path names the object) and its setting."""
    url = urlsplit(str(exc.kwargs.get("endpoint_url", "")))
    where = f"{url.scheme}://{url.netloc}" if url.netloc else "the endpoint"
    if isinstance(exc, boto_errors.ConnectTimeoutError):
        why = f"{where} did not answer in time: check S3_ENDPOINT_URL and firewalls"
    elif isinstance(exc, boto_errors.EndpointConnectionError):
        why = (
            f"no connection to {where}: check S3_ENDPOINT_URL (empty for AWS "
            "itself) and that the server is running"
        )
    else:
        return ""
    return f" ({why})"


@contextlib.contextmanager
def _boundary(operation: str, key: str) -> Iterator[None]:
    """Whatever botocore raises inside leaves as a StoreError (see _translate)."""
    try:
        yield
    except (boto_errors.ClientError, boto_errors.BotoCoreError) as exc:
        raise _translate(operation, key, exc) from exc


@dataclass(frozen=True)
class StoreSettings:
    bucket: str
    endpoint_url: str = ""
    region: str = "ap-southeast-2"
    access_key_id: str = ""
    secret_access_key: str = ""
    key_prefix: str = "patients/filemaker-import/images"
    sse: str = "AES256"  # or "aws:kms"
    kms_key_id: str = ""
    ca_bundle: str = ""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str  # hex; "" when S3 stored no SHA-256 checksum
    sse: str


@dataclass(frozen=True)
class PutResult:
    key: str
    created: bool  # False: the same bytes were already there


def sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(binascii.unhexlify(hex_digest)).decode("ascii")


def sha256_hex(b64_digest: str | None) -> str:
    if not b64_digest:
        return ""
    return binascii.hexlify(base64.b64decode(b64_digest)).decode("ascii")


def is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ObjectStore:
    """One boto3 client shared by all workers, its pool sized to them."""

    def __init__(
        self, settings: StoreSettings, *, max_pool: int = 16, max_attempts: int = 5
    ) -> None:
        if not settings.bucket:
            raise ValueError("S3_BUCKET is not set")
        if settings.sse not in ("AES256", "aws:kms"):
            raise ValueError(f"S3_SSE must be AES256 or aws:kms (got {settings.sse!r})")
        endpoint = settings.endpoint_url or None
        if endpoint and endpoint.startswith("http:") and not is_loopback_url(endpoint):
            # Patient images never cross a network unencrypted; plain HTTP is
            # only for an S3-compatible server on this machine.
            raise ValueError(
                f"S3_ENDPOINT_URL {endpoint} is plain http on a non-loopback host; "
                "use https"
            )
        self.settings, self.bucket = settings, settings.bucket
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            region_name=settings.region,
        )
        self.client = session.client(
            "s3",
            endpoint_url=endpoint,
            verify=settings.ca_bundle or True,
            config=Config(
                max_pool_connections=max_pool + 4,
                # with backoff, before the store raises TransientStoreError
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                signature_version="s3v4",
                connect_timeout=10,
                read_timeout=60,
                s3={"addressing_style": "path"} if endpoint else None,
            ),
        )

    def _sse_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"ServerSideEncryption": self.settings.sse}
        if self.settings.sse == "aws:kms" and self.settings.kms_key_id:
            args["SSEKMSKeyId"] = self.settings.kms_key_id
            args["BucketKeyEnabled"] = True
        return args

    @tenacity.retry(
        retry=tenacity.retry_if_exception_type(_ConditionalConflict),
        stop=tenacity.stop_after_attempt(5),
        wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=2, jitter=0.1),
        reraise=True,
    )
    def put_create_only(
        self, key: str, body: BinaryIO, *, sha256: str, content_type: str
    ) -> PutResult:
        body.seek(0)
        with _boundary("put", key):
            try:
                resp = self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=sha256_b64(sha256),
                    IfNoneMatch="*",
                    **self._sse_args(),
                )
            except boto_errors.ClientError as exc:
                if _code(exc) == "PreconditionFailed":
                    return self._existing_matches(key, sha256)
                if _code(exc) == "ConditionalRequestConflict":
                    raise _ConditionalConflict(key) from exc
                raise
        self._verify_put_answer(key, resp, sha256)
        return PutResult(key=key, created=True)

    def _existing_matches(self, key: str, sha256: str) -> PutResult:
        info = self.head(key)
        if info is None:
            # Gone between the put and the head: let the caller try again.
            raise _ConditionalConflict(key)
        if info.sha256 != sha256:
            raise ObjectConflictError(key, info.sha256, sha256)
        return PutResult(key=key, created=False)

    def _verify_put_answer(self, key: str, resp: dict[str, Any], sha256: str) -> None:
        sse = resp.get("ServerSideEncryption", "")
        if sse != self.settings.sse:
            raise PutVerificationError(
                f"s3 put {key}: answered encryption {sse or 'none'}, "
                f"expected {self.settings.sse}"
            )
        echoed = sha256_hex(resp.get("ChecksumSHA256"))
        if echoed != sha256:
            raise PutVerificationError(
                f"s3 put {key}: answered SHA-256 {echoed or 'none'}, expected {sha256}"
            )

    def create_private_bucket(self) -> None:
        """Create the bucket as preflight wants it (for the demo and the tests)."""
        client, bucket, sse = self.client, self.bucket, self.settings.sse
        location = {"LocationConstraint": self.settings.region}
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": sse}}
        block = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        with _boundary("create bucket", bucket):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
            client.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]}
            )
            client.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=block
            )

    def preflight(self) -> list[str]:
        """What is wrong with the bucket for patient images (empty: nothing): it
        must answer, encrypt by default as configured, block all public access."""
        bucket = self.bucket
        try:
            self.client.head_bucket(Bucket=bucket)
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as exc:
            code = _translate("head bucket", bucket, exc).code
            return [f"bucket {bucket} is not reachable ({code})"]
        with _boundary("preflight", bucket):
            return self._encryption_problems() + self._public_access_problems()

    def _encryption_problems(self) -> list[str]:
        bucket, sse = self.bucket, self.settings.sse
        try:
            answer = self.client.get_bucket_encryption(Bucket=bucket)
        except boto_errors.ClientError as exc:
            return [f"bucket {bucket} has no default encryption ({_code(exc)})"]
        algorithms = {
            r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            for r in answer["ServerSideEncryptionConfiguration"]["Rules"]
        }
        if sse in algorithms:
            return []
        found = ", ".join(sorted(a for a in algorithms if a)) or "none"
        return [f"bucket {bucket} default encryption is {found}, not {sse}"]

    def _public_access_problems(self) -> list[str]:
        try:
            answer = self.client.get_public_access_block(Bucket=self.bucket)
        except boto_errors.ClientError as exc:
            return [f"bucket {self.bucket} has no Block Public Access ({_code(exc)})"]
        block = answer["PublicAccessBlockConfiguration"]
        off = ", ".join(sorted(name for name, on in block.items() if not on))
        problem = f"bucket {self.bucket} Block Public Access is off for: {off}"
        return [problem] if off else []

    def head(self, key: str) -> ObjectInfo | None:
        """The object's facts, or None when there is no object at the key."""
        with _boundary("head", key):
            try:
                resp = self.client.head_object(
                    Bucket=self.bucket, Key=key, ChecksumMode="ENABLED"
                )
            except boto_errors.ClientError as exc:
                if _code(exc) in _NOT_FOUND:
                    return None
                raise
        return ObjectInfo(
            key=key,
            size=int(resp.get("ContentLength", 0)),
            sha256=sha256_hex(resp.get("ChecksumSHA256")),
            sse=resp.get("ServerSideEncryption", ""),
        )

    def delete(self, key: str) -> None:
        """Delete the object; a key with no object is no error (as S3 has it)."""
        with _boundary("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def read(self, key: str) -> bytes:
        # Read inside the boundary: a stream dropped midway is transient too.
        with _boundary("get", key):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            return bytes(body.read())

    def list_keys(self, prefix: str) -> list[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        with _boundary("list", prefix):  # the pages are fetched as they are read
            return [
                ObjectInfo(key=obj["Key"], size=obj["Size"], sha256="", sse="")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for obj in page.get("Contents", [])
            ]

    def copy(self, source_key: str, key: str, *, sha256: str) -> ObjectInfo:
        """Copy server-side, SHA-256 recomputed and checked; a target holding
        `sha256` is kept, anything else there is a conflict (never overwritten)."""
        existing = self.head(key)
        if existing is not None:
            if existing.sha256 != sha256:
                raise ObjectConflictError(key, existing.sha256, sha256)
            return existing
        with _boundary("copy", f"{source_key} -> {key}"):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": source_key},
                MetadataDirective="COPY",
                ChecksumAlgorithm="SHA256",
                **self._sse_args(),
            )
        copied = self.head(key)
        if copied is None or copied.sha256 != sha256:
            got = copied.sha256 if copied else "nothing"
            raise PutVerificationError(
                f"s3 copy {source_key} -> {key}: stored SHA-256 {got}, "
                f"expected {sha256}"
            )
        return copied

    def presigned_get(
        self, key: str, *, expires_in: int, content_disposition: str = ""
    ) -> str:
        """A GET URL valid for `expires_in` seconds, signed here (no request)."""
        params = {"Bucket": self.bucket, "Key": key}
        if content_disposition:
            params["ResponseContentDisposition"] = content_disposition
        with _boundary("presign", key):
            url = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )
        return str(url)
