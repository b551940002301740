"""The fault matrix: each fault at the source, in S3 or in the database, with the
run completing or stopping cleanly, and a rerun reaching the clean end state.

FileMaker faults are the emulator's own knobs (real HTTPS answers). S3 faults
that moto cannot produce on demand (a 503 SlowDown, an answer lost after the
object was stored) are injected into botocore's own send path, so botocore's
real retry logic and our 412 handling run against moto's real server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import threading
import time
from io import StringIO

import botocore.awsrequest
import botocore.exceptions
import pytest
import urllib3
from django.core.management import call_command
from django.core.management.base import CommandError

from filemaker_migration import keys
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.models import LedgerEntry
from tests.conftest import STRICT
from tests.conftest import point_settings_at
from tests.conftest import start_emulator
from tests.conftest import use_profile
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.checks import expected_records
from tests.pipeline.checks import filemaker_records
from tests.pipeline.checks import run_import_with_store
from tests.pipeline.test_failures import _drop_refusal
from tests.pipeline.test_failures import _refuse_image_insert

pytestmark = pytest.mark.django_db(transaction=True)


def run_import(*args: str) -> None:
    call_command("import_filemaker_images", *args, stdout=StringIO())


@pytest.fixture
def patients(migration_env):
    call_command("import_filemaker_patients", stdout=StringIO())


# -- FileMaker --------------------------------------------------------------


@pytest.mark.parametrize("profile", [None, STRICT], ids=["quiet", "strict-server"])
def test_503_bursts_with_retry_after_are_ridden_out(
    migration_env, emulator, patients, settings, profile
):
    # A download is two requests (302, then 200), so one attempt fails with
    # probability ~0.1; six attempts make a lasting failure ~1e-6 per image.
    # Under the strict-server profile (issue #14) the same bursts meet stale
    # URLs, locked records and the rest of what a real server does.
    settings.FILEMAKER = {**settings.FILEMAKER, "MAX_ATTEMPTS": 6}
    use_profile(emulator, profile)
    emulator.faults.seed = 21
    emulator.faults.http_503_probability = 0.05
    emulator.faults.retry_after_seconds = 0
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_dropped_connections_are_retried(migration_env, emulator, patients, settings):
    settings.FILEMAKER = {**settings.FILEMAKER, "MAX_ATTEMPTS": 6}
    emulator.faults.seed = 22
    emulator.faults.drop_probability = 0.05
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_token_expiring_mid_run_is_replaced(migration_env, emulator, patients):
    emulator.faults.invalidate_sessions_after_calls = 40
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_streams_slower_than_the_read_timeout_fail_then_rerun(
    migration_env, emulator, patients, settings
):
    # A read timeout far above what an API call takes on a loaded machine
    # (no call but a download may fail), far below the first byte's wait.
    settings.FILEMAKER = {**settings.FILEMAKER, "READ_TIMEOUT": 1.0, "MAX_ATTEMPTS": 1}
    emulator.faults.container_ttfb_ms = 4000
    with pytest.raises(CommandError, match="failed"):
        run_import("--workers", "16", "--limit", "20")
    assert LedgerEntry.objects.filter(reason="download_failed").exists()
    # A timeout is retried, never a reason to fall back to a smaller picture.
    assert not LedgerEntry.objects.exclude(container_field="").exists()

    emulator.faults.container_ttfb_ms = 0
    settings.FILEMAKER = {**settings.FILEMAKER, "READ_TIMEOUT": 60.0, "MAX_ATTEMPTS": 4}
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_container_urls_expiring_before_download_are_refreshed(
    settings, s3_server, clinic_dataset, emulator_tls_dir, tmp_path
):
    """Every URL of a page expires before it is fetched: the emulator's clock
    jumps past the URLs' lifetime right after each find."""
    # In one process: with workers, each one's re-reading is a find too, so
    # every find of any process would expire every other's fresh URLs, which
    # no server's clock does (URLs live for minutes of real time).
    settings.FILEMAKER_MIGRATION_PROCESSES = 1
    offset = [0.0]
    running = start_emulator(clinic_dataset, tmp_path / "fm-state", emulator_tls_dir)
    backend = running.app.backend
    backend.clock = lambda: time.monotonic() + offset[0]
    backend.containers._clock = backend.clock
    backend.faults.container_url_seconds = 100.0
    real_find = backend.find

    def find_then_jump(*args, **kwargs):
        page = real_find(*args, **kwargs)
        offset[0] += 101.0
        return page

    backend.find = find_then_jump
    try:
        point_settings_at(settings, running, s3_server, "clinic-expiring-urls")
        settings.STATE_DIR = tmp_path / "state"
        store = object_store()
        store.create_private_bucket()
        call_command("import_filemaker_patients", stdout=StringIO())
        run_import("--workers", "4", "--page-size", "30")
        assert_clean_end_state(clinic_dataset, store)
    finally:
        running.server.stop()
        running.app.close()


# -- S3 ---------------------------------------------------------------------


class SlowDownFirstPuts:
    """Answer the first `count` PutObject requests with 503 SlowDown."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lock = threading.Lock()

    def __call__(self, request, **kwargs):
        with self.lock:
            if self.count <= 0:
                return None
            self.count -= 1
        body = (
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request "
            b"rate.</Message></Error>"
        )
        return botocore.awsrequest.AWSResponse(
            request.url, 503, {"Content-Type": "application/xml"}, _RawBody(body)
        )


class _RawBody(io.BytesIO):
    def stream(self, *args, **kwargs):
        yield self.getvalue()


class LoseFirstAnswers:
    """Send the first `count` PutObject requests to S3 for real, then act as if
    the connection dropped before the answer came back."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lost: set[str] = set()
        self.lock = threading.Lock()
        self.http = urllib3.PoolManager()

    def __call__(self, request, **kwargs):
        with self.lock:
            # botocore's retry of a lost put comes through here again: let it
            # reach S3, where it meets the object its first attempt stored.
            if self.count <= 0 or request.url in self.lost:
                return None
            self.count -= 1
            self.lost.add(request.url)
        body = request.body.read() if hasattr(request.body, "read") else request.body
        if hasattr(request.body, "seek"):
            request.body.seek(0)
        answer = self.http.request(
            request.method, request.url, body=body, headers=dict(request.headers)
        )
        assert answer.status == 200, answer.data
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)


def test_s3_slowdown_is_retried(migration_env, emulator, patients, settings):
    slowdown = SlowDownFirstPuts(10)
    migration_env.client.meta.events.register("before-send.s3.PutObject", slowdown)
    result = run_import_with_store(migration_env, settings)
    assert slowdown.count == 0
    assert result.failed == 0
    assert_clean_end_state(emulator.dataset, migration_env)


def test_a_put_whose_answer_was_lost_meets_its_own_object(
    migration_env, emulator, patients, settings
):
    lose = LoseFirstAnswers(5)
    migration_env.client.meta.events.register("before-send.s3.PutObject", lose)
    heads = []
    real_head = migration_env.head
    migration_env.head = lambda key: heads.append(key) or real_head(key)
    result = run_import_with_store(migration_env, settings)
    assert lose.count == 0
    # Each retried put met 412 and found its own object by checksum.
    assert sorted(heads) == sorted(
        url.split(migration_env.bucket + "/", 1)[1] for url in lose.lost
    )
    assert result.failed == 0
    assert_clean_end_state(emulator.dataset, migration_env)


def test_a_conflicting_object_is_reported_and_never_overwritten(
    migration_env, emulator, patients
):
    expected = expected_records(emulator.dataset)
    # An unlinked record's key depends only on its Type and id: plant a
    # different object there before the import.
    record_id, oracle = next(
        (rid, r) for rid, r in expected.items() if r["outcome"] == "imported_unlinked"
    )
    data = filemaker_records(FileMakerSettings.from_settings())[record_id]
    ext = "png" if oracle["content_type"] == "image/png" else "jpg"
    key = keys.unlinked_key(
        migration_env.settings.key_prefix, data["Type"], oracle["id"].upper(), ext
    )
    squatter = b"not the clinic's picture"
    migration_env.client.put_object(
        Bucket=migration_env.bucket,
        Key=key,
        Body=squatter,
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(hashlib.sha256(squatter).digest()).decode(),
    )
    with pytest.raises(CommandError, match="1 record"):
        run_import("--workers", "8")
    entry = LedgerEntry.objects.get(record_id=record_id)
    assert entry.reason == "s3_conflict"
    assert migration_env.read(key) == squatter  # not overwritten

    migration_env.delete(key)
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)


# -- the database -----------------------------------------------------------


def test_the_database_refusing_every_write_stops_cleanly(
    migration_env, emulator, patients
):
    victims = [
        r
        for r in expected_records(emulator.dataset).values()
        if r["outcome"] == "imported"
    ]
    try:
        for victim in victims[:1]:
            _refuse_image_insert(victim["id"].replace("-", "").lower())
        with contextlib.suppress(CommandError):
            run_import("--workers", "8")
    finally:
        _drop_refusal()  # never left for later tests, whatever happened
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)
