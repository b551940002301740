"""The migration's settings: their defaults, and the typed objects read from them.

A clinic's project sets only what differs from these (see
docs/configuration.md): FILEMAKER and S3 are dicts merged over the defaults below,
read once per command into FileMakerSettings and StoreSettings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.decode_budget import DEFAULT_MEGAPIXELS
from filemaker_migration.fields import ContactFields
from filemaker_migration.fields import ImageFields
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreSettings

FILEMAKER_DEFAULTS: dict[str, Any] = {
    "URL": "",
    "DATABASE": "",
    "ACCOUNT": "",
    "PASSWORD": "",
    "LAYOUT": "API_Images",
    "CONTACTS_LAYOUT": "API_Contacts",
    "CA_BUNDLE": "",  # a private CA's bundle (PEM); empty: the system's CAs
    "API_VERSION": "vLatest",
    "CONNECT_TIMEOUT": 10.0,
    "READ_TIMEOUT": 60.0,
    "MAX_ATTEMPTS": 5,
    "FIELDS": {},  # field-name overrides, keyed as in filemaker_migration.fields
    # Data API sessions (tokens) a command may open; FileMaker serves one
    # session's requests one at a time, so more sessions means more requests
    # served at once (within the server's session cap).
    "SESSIONS": 1,
    # Requests in flight on one session: one served, one waiting its turn.
    "REQUESTS_PER_SESSION": 2,
    # Pixels decoded at once by all the import's workers (decode_budget.py).
    "DECODE_BUDGET_MEGAPIXELS": DEFAULT_MEGAPIXELS,
}

S3_DEFAULTS: dict[str, Any] = {
    "BUCKET": "",
    "ENDPOINT_URL": "",
    "REGION": "ap-southeast-2",
    "ACCESS_KEY_ID": "",  # empty: boto3's own credential chain
    "SECRET_ACCESS_KEY": "",
    "KEY_PREFIX": "patients/filemaker-import/images",
    "SSE": "AES256",
    "KMS_KEY_ID": "",
    "CA_BUNDLE": "",
    "PRESIGN_SECONDS": 300,
}


def filemaker() -> dict[str, Any]:
    return {**FILEMAKER_DEFAULTS, **getattr(settings, "FILEMAKER", {})}


def s3() -> dict[str, Any]:
    return {**S3_DEFAULTS, **getattr(settings, "S3", {})}


def report_dir() -> Path:
    """Where import reports are written: FILEMAKER_MIGRATION_REPORT_DIR, else
    STATE_DIR/reports, else ./filemaker-reports."""
    configured = getattr(settings, "FILEMAKER_MIGRATION_REPORT_DIR", None)
    if configured:
        return Path(configured)
    state_dir = getattr(settings, "STATE_DIR", None)
    return Path(state_dir) / "reports" if state_dir else Path("filemaker-reports")


# "auto" stops here: each process holds its own Data API sessions, S3 pool and
# decode budget, and FileMaker, not the importer, is the limit well before.
AUTO_PROCESSES_AT_MOST = 4


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system
    says), at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    return max(1, cores or os.cpu_count() or 1)


def import_processes() -> int:
    """FILEMAKER_MIGRATION_PROCESSES: a number, or "auto" (the default): one
    process per core this one may run on, at most AUTO_PROCESSES_AT_MOST."""
    value = getattr(settings, "FILEMAKER_MIGRATION_PROCESSES", "auto")
    if str(value).strip().lower() == "auto":
        return min(usable_cores(), AUTO_PROCESSES_AT_MOST)
    try:
        processes = int(value)
    except (TypeError, ValueError):
        processes = 0
    if processes < 1:
        raise ImproperlyConfigured(
            f"FILEMAKER_MIGRATION_PROCESSES={value!r} is not a number of "
            'processes (1 or more) or "auto"'
        )
    return processes


def crash_at() -> str:
    """Test-only crash injection (see crashpoints.py); empty in real runs."""
    return getattr(settings, "CRASH_AT", "")


@dataclass(frozen=True)
class FileMakerSettings:
    url: str
    database: str
    account: str
    password: str = field(repr=False)
    layout: str = "API_Images"
    contacts_layout: str = "API_Contacts"
    ca_bundle: str = ""
    api_version: str = "vLatest"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    image_fields: ImageFields = field(default_factory=ImageFields)
    contact_fields: ContactFields = field(default_factory=ContactFields)
    sessions: int = 1
    requests_per_session: int = 2
    decode_budget_megapixels: float = DEFAULT_MEGAPIXELS

    @classmethod
    def from_settings(cls) -> FileMakerSettings:
        fm = filemaker()
        missing = [
            f"FILEMAKER[{key!r}] ({name})"
            for name, key in (
                ("FM_URL", "URL"),
                ("FM_DATABASE", "DATABASE"),
                ("FM_ACCOUNT", "ACCOUNT"),
                ("FM_PASSWORD", "PASSWORD"),
            )
            if not fm[key]
        ]
        if missing:
            raise ImproperlyConfigured(
                f"{', '.join(missing)} not set (see docs/configuration.md)"
            )
        if not fm["URL"].startswith("https://"):
            raise ImproperlyConfigured(
                f"FM_URL must be an https:// URL (got {fm['URL']!r}); the Data API "
                "is only served over HTTPS"
            )
        if fm["CA_BUNDLE"] and not _readable(fm["CA_BUNDLE"]):
            raise ImproperlyConfigured(f"FM_CA_BUNDLE: cannot read {fm['CA_BUNDLE']}")
        try:
            image_fields = ImageFields.with_overrides(fm["FIELDS"])
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(str(exc)) from exc
        budget = fm["DECODE_BUDGET_MEGAPIXELS"]
        positive = isinstance(budget, int | float) and budget > 0
        if not positive or isinstance(budget, bool):
            raise ImproperlyConfigured(
                "FILEMAKER['DECODE_BUDGET_MEGAPIXELS'] (FM_DECODE_BUDGET_MEGAPIXELS) "
                f"must be a positive number of megapixels (got {budget!r})"
            )
        return cls(
            url=fm["URL"],
            database=fm["DATABASE"],
            account=fm["ACCOUNT"],
            password=fm["PASSWORD"],
            layout=fm["LAYOUT"],
            contacts_layout=fm["CONTACTS_LAYOUT"],
            ca_bundle=fm["CA_BUNDLE"],
            api_version=fm["API_VERSION"],
            connect_timeout=fm["CONNECT_TIMEOUT"],
            read_timeout=fm["READ_TIMEOUT"],
            max_attempts=fm["MAX_ATTEMPTS"],
            image_fields=image_fields,
            sessions=_count(fm, "SESSIONS", "FM_SESSIONS", most=32),
            requests_per_session=_count(
                fm, "REQUESTS_PER_SESSION", "FM_REQUESTS_PER_SESSION", most=16
            ),
            decode_budget_megapixels=float(budget),
        )

    def client(self, *, max_concurrency: int = 16, **kwargs: object) -> DataAPIClient:
        return DataAPIClient(
            self.url,
            self.database,
            self.account,
            self.password,
            ca_bundle=self.ca_bundle or None,
            api_version=self.api_version,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            max_concurrency=max_concurrency,
            sessions=self.sessions,
            requests_per_session=self.requests_per_session,
            **kwargs,  # type: ignore[arg-type]
        )


def store_settings() -> StoreSettings:
    values = s3()
    if not values["BUCKET"]:
        raise ImproperlyConfigured("S3_BUCKET not set (see docs/configuration.md)")
    if values["SSE"] not in ("AES256", "aws:kms"):
        raise ImproperlyConfigured(
            f"S3_SSE must be AES256 or aws:kms (got {values['SSE']!r})"
        )
    if values["CA_BUNDLE"] and not _readable(values["CA_BUNDLE"]):
        raise ImproperlyConfigured(f"S3_CA_BUNDLE: cannot read {values['CA_BUNDLE']}")
    prefix = values["KEY_PREFIX"].strip("/")
    if not prefix or ".." in prefix.split("/"):
        raise ImproperlyConfigured(f"S3_KEY_PREFIX is not a usable prefix: {prefix!r}")
    return StoreSettings(
        bucket=values["BUCKET"],
        endpoint_url=values["ENDPOINT_URL"],
        region=values["REGION"],
        access_key_id=values["ACCESS_KEY_ID"],
        secret_access_key=values["SECRET_ACCESS_KEY"],
        key_prefix=prefix,
        sse=values["SSE"],
        kms_key_id=values["KMS_KEY_ID"],
        ca_bundle=values["CA_BUNDLE"],
    )


def object_store(*, max_pool: int = 16) -> ObjectStore:
    try:
        return ObjectStore(store_settings(), max_pool=max_pool)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


def _count(fm: dict[str, Any], key: str, env: str, *, most: int) -> int:
    value = fm[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ImproperlyConfigured(
            f"FILEMAKER[{key!r}] ({env}) must be a whole number from 1 to {most} "
            f"(got {value!r})"
        )
    return value


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False
