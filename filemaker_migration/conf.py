"""The migration's settings, with their defaults, read from Django's settings.

A clinic's project sets only what differs from these (see README.md,
Configuration): FILEMAKER and S3 are dicts merged over the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

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


def crash_at() -> str:
    """Test-only crash injection (see crashpoints.py); empty in real runs."""
    return getattr(settings, "CRASH_AT", "")
