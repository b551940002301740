"""The import's configuration, read once from Django settings into typed objects."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from django.core.exceptions import ImproperlyConfigured

from filemaker_migration import conf
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.fields import ContactFields
from filemaker_migration.fields import ImageFields
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreSettings


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

    @classmethod
    def from_settings(cls) -> FileMakerSettings:
        fm = conf.filemaker()
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
            raise ImproperlyConfigured(f"{', '.join(missing)} not set (see README.md)")
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
            **kwargs,  # type: ignore[arg-type]
        )


def store_settings() -> StoreSettings:
    s3 = conf.s3()
    if not s3["BUCKET"]:
        raise ImproperlyConfigured("S3_BUCKET not set (see README.md)")
    if s3["SSE"] not in ("AES256", "aws:kms"):
        raise ImproperlyConfigured(
            f"S3_SSE must be AES256 or aws:kms (got {s3['SSE']!r})"
        )
    if s3["CA_BUNDLE"] and not _readable(s3["CA_BUNDLE"]):
        raise ImproperlyConfigured(f"S3_CA_BUNDLE: cannot read {s3['CA_BUNDLE']}")
    prefix = s3["KEY_PREFIX"].strip("/")
    if not prefix or ".." in prefix.split("/"):
        raise ImproperlyConfigured(f"S3_KEY_PREFIX is not a usable prefix: {prefix!r}")
    return StoreSettings(
        bucket=s3["BUCKET"],
        endpoint_url=s3["ENDPOINT_URL"],
        region=s3["REGION"],
        access_key_id=s3["ACCESS_KEY_ID"],
        secret_access_key=s3["SECRET_ACCESS_KEY"],
        key_prefix=prefix,
        sse=s3["SSE"],
        kms_key_id=s3["KMS_KEY_ID"],
        ca_bundle=s3["CA_BUNDLE"],
    )


def object_store(*, max_pool: int = 16) -> ObjectStore:
    try:
        return ObjectStore(store_settings(), max_pool=max_pool)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False
