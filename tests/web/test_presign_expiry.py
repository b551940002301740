"""Presigned URLs expire: their lifetime is signed, and checked against a fixed clock.

moto's S3 server does not enforce presigned-URL expiry (real S3 does), so the
check S3 makes is done here: the signature is recomputed with botocore's own
SigV4 query signer at a frozen signing time, which shows that X-Amz-Date and
X-Amz-Expires are covered by the signature (a URL cannot be stretched without
the secret key), and the expiry is then judged against fixed instants. No
sleeping, no wall-clock assertions.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import pytest
from botocore.auth import SIGV4_TIMESTAMP
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from clinic.images.presign import presigned_url

ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key"


class FrozenQueryAuth(S3SigV4QueryAuth):
    """botocore's presigning signer with the clock frozen at `signed_at`."""

    def __init__(self, *args, signed_at: dt.datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signed_at = signed_at

    def add_auth(self, request) -> None:
        request.context["timestamp"] = self.signed_at.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)


def sign(url: str, *, signed_at: dt.datetime, expires: int, secret=SECRET_KEY) -> str:
    """Presign `url` (its X-Amz-* parameters dropped) as S3 would check it."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("X-Amz-")]
    request = AWSRequest(
        method="GET", url=urlunsplit(parts._replace(query=urlencode(kept)))
    )
    FrozenQueryAuth(
        Credentials(ACCESS_KEY, secret),
        "s3",
        "ap-southeast-2",
        expires=expires,
        signed_at=signed_at,
    ).add_auth(request)
    return request.url


def accepted(url: str, *, now: dt.datetime) -> bool:
    """S3's verdict on a presigned GET: a valid signature and not yet expired."""
    params = dict(parse_qsl(urlsplit(url).query))
    signed_at = dt.datetime.strptime(params["X-Amz-Date"], SIGV4_TIMESTAMP).replace(
        tzinfo=dt.UTC
    )
    expires = int(params["X-Amz-Expires"])
    genuine = sign(url, signed_at=signed_at, expires=expires)
    if dict(parse_qsl(urlsplit(genuine).query))["X-Amz-Signature"] != params.get(
        "X-Amz-Signature"
    ):
        return False
    return signed_at <= now < signed_at + dt.timedelta(seconds=expires)


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def app_url(offline_s3):
    return presigned_url("patients/filemaker-import/images/P/2016-10-18/ABC.jpg")


def signed_at(url: str) -> dt.datetime:
    stamp = dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]
    return dt.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.UTC)


def test_app_urls_are_signed_by_the_sigv4_signer_s3_checks_against(app_url):
    assert accepted(app_url, now=signed_at(app_url))


def test_app_urls_expire_after_the_configured_lifetime(app_url):
    start = signed_at(app_url)
    assert accepted(app_url, now=start + dt.timedelta(seconds=299))
    assert not accepted(app_url, now=start + dt.timedelta(seconds=300))
    assert not accepted(app_url, now=start + dt.timedelta(days=1))


def test_a_url_cannot_be_stretched_or_backdated(app_url):
    start = signed_at(app_url)
    stretched = with_param(app_url, "X-Amz-Expires", "604800")
    backdated = with_param(
        app_url, "X-Amz-Date", (start + dt.timedelta(hours=1)).strftime(SIGV4_TIMESTAMP)
    )
    assert not accepted(stretched, now=start + dt.timedelta(seconds=10))
    assert not accepted(backdated, now=start + dt.timedelta(hours=1, seconds=10))


def test_a_url_signed_in_the_past_is_refused_now(app_url):
    past = dt.datetime(2020, 1, 1, 9, 0, tzinfo=dt.UTC)
    old = sign(app_url, signed_at=past, expires=300)
    assert dict(parse_qsl(urlsplit(old).query))["X-Amz-Date"] == "20200101T090000Z"
    assert accepted(old, now=past + dt.timedelta(seconds=1))
    assert not accepted(old, now=signed_at(app_url))


def test_a_url_signed_with_another_secret_is_refused(app_url):
    forged = sign(app_url, signed_at=signed_at(app_url), expires=300, secret="guess")
    assert not accepted(forged, now=signed_at(app_url))
