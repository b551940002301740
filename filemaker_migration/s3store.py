"""Create-only, checksummed, encrypted writes to S3 (no Django imports).

Every put carries the object's SHA-256 (S3 recomputes it and refuses a
mismatch), server-side encryption, and If-None-Match: * so that nothing is ever
overwritten. A put that meets an existing object compares checksums: the same
SHA-256 means the object is already there (e.g. a retried put whose first
answer was lost), a different one is a conflict that is reported.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from typing import BinaryIO
from urllib.parse import urlparse

import boto3
import botocore.exceptions
import tenacity
from botocore.config import Config

logger = logging.getLogger(__name__)


class StoreError(Exception):
    """S3 refused or failed a request; the message names the operation and key."""


class ObjectConflictError(StoreError):
    """An object with different content already exists at the key."""

    def __init__(self, key: str, existing_sha256: str, wanted_sha256: str) -> None:
        existing = existing_sha256 or "unknown"
        super().__init__(
            f"s3 object {key} already exists with SHA-256 {existing}, "
            f"not {wanted_sha256}; it was not overwritten"
        )
        self.key = key
        self.existing_sha256 = existing_sha256


class PutVerificationError(StoreError):
    """S3's answer to a put lacks the expected encryption or checksum."""


class _ConditionalConflict(Exception):
    """409 ConditionalRequestConflict: a concurrent conditional write; retry."""


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

    def __init__(self, settings: StoreSettings, *, max_pool: int = 16) -> None:
        if not settings.bucket:
            raise ValueError("S3_BUCKET is not set")
        if settings.sse not in ("AES256", "aws:kms"):
            raise ValueError(f"S3_SSE must be AES256 or aws:kms (got {settings.sse!r})")
        endpoint = settings.endpoint_url or None
        if (
            endpoint
            and endpoint.startswith("http://")
            and not is_loopback_url(endpoint)
        ):
            # Patient images never cross a network unencrypted; plain HTTP is
            # only for an S3-compatible server on this machine.
            raise ValueError(
                f"S3_ENDPOINT_URL {endpoint} is plain http on a non-loopback host; "
                "use https"
            )
        self.settings = settings
        self.bucket = settings.bucket
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
                retries={"mode": "standard", "total_max_attempts": 5},
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
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "PreconditionFailed":
                return self._existing_matches(key, sha256)
            if code == "ConditionalRequestConflict":
                raise _ConditionalConflict(key) from exc
            raise StoreError(f"s3 put {key} failed: {code or exc}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StoreError(f"s3 put {key} failed: {type(exc).__name__}") from exc
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
        """Create the bucket as the preflight wants it: encrypted, never public.

        For the demo and the tests' local servers; a clinic's real bucket is
        made by its administrator (and checked by `preflight`).
        """
        client, bucket = self.client, self.bucket
        client.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": self.settings.region},
        )
        client.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": self.settings.sse
                        }
                    }
                ]
            },
        )
        client.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )

    def preflight(self) -> list[str]:
        """What is wrong with the bucket for patient images; empty when all is well.

        Checks that the bucket exists and answers, that its default encryption
        is the configured one, and that Block Public Access is fully on.
        """
        problems: list[str] = []
        client, bucket = self.client, self.bucket
        try:
            client.head_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            return [f"bucket {bucket} is not reachable ({code or exc})"]
        except botocore.exceptions.BotoCoreError as exc:
            return [f"bucket {bucket} is not reachable ({type(exc).__name__})"]
        try:
            rules = client.get_bucket_encryption(Bucket=bucket)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
            algorithms = {
                r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
                for r in rules
            }
            if self.settings.sse not in algorithms:
                problems.append(
                    f"bucket {bucket} default encryption is "
                    f"{', '.join(sorted(a for a in algorithms if a)) or 'none'}, "
                    f"not {self.settings.sse}"
                )
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            problems.append(f"bucket {bucket} has no default encryption ({code})")
        try:
            block = client.get_public_access_block(Bucket=bucket)[
                "PublicAccessBlockConfiguration"
            ]
            off = sorted(name for name, on in block.items() if not on)
            if off:
                problems.append(
                    f"bucket {bucket} Block Public Access is off for: {', '.join(off)}"
                )
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            problems.append(f"bucket {bucket} has no Block Public Access ({code})")
        return problems

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(
                Bucket=self.bucket, Key=key, ChecksumMode="ENABLED"
            )
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "404",
                "NoSuchKey",
                "NotFound",
            ):
                return None
            raise StoreError(f"s3 head {key} failed: {exc}") from exc
        return ObjectInfo(
            key=key,
            size=int(resp.get("ContentLength", 0)),
            sha256=sha256_hex(resp.get("ChecksumSHA256")),
            sse=resp.get("ServerSideEncryption", ""),
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def list_keys(self, prefix: str) -> list[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found.append(
                    ObjectInfo(key=obj["Key"], size=obj["Size"], sha256="", sse="")
                )
        return found

    def copy(self, source_key: str, key: str, *, sha256: str) -> ObjectInfo:
        """Copy an object server-side (same encryption, SHA-256 recomputed by S3).

        Idempotent: a target already holding `sha256` is left as it is; a
        target holding anything else is a conflict, never overwritten. The
        copy's stored checksum is checked before returning.
        """
        existing = self.head(key)
        if existing is not None:
            if existing.sha256 != sha256:
                raise ObjectConflictError(key, existing.sha256, sha256)
            return existing
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": source_key},
                MetadataDirective="COPY",
                ChecksumAlgorithm="SHA256",
                **self._sse_args(),
            )
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise StoreError(f"s3 copy {source_key} -> {key} failed: {code}") from exc
        copied = self.head(key)
        if copied is None or copied.sha256 != sha256:
            got = copied.sha256 if copied else "nothing"
            raise PutVerificationError(
                f"s3 copy {source_key} -> {key}: stored SHA-256 {got}, "
                f"expected {sha256}"
            )
        return copied
