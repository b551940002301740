"""A container URL that ages while its download waits is read afresh, without
using up the re-reads meant for URLs that arrive stale (issue #23).

The emulator's clock is moved past the URLs' lifetime each time it sends a
busy answer to a download's first request, as real time would pass while
the client waits out a busy server; the client's next try then meets an
expired URL.
"""

from __future__ import annotations

import hashlib
import io
import time

from filemaker_migration.dataapi import ContainerUnauthorizedError
from filemaker_migration.dataapi import Observations
from filemaker_migration.dataapi._client import AGED_REREADS
from filemaker_migration.dataapi._client import URL_REREADS
from filemaker_migration.emulator import responses
from filemaker_migration.emulator.containers import COOKIE_NAME
from filemaker_migration.emulator.containers import STREAMING_PREFIX
from tests.dataapi.test_client import make_client
from tests.dataapi.test_client import oracle

LIFETIME = 100.0


def busy_while_urls_age(emulator, times: int) -> None:
    """A URL's first request answers 503 (retry at once), `times` times, and
    moves the server's clock past every URL's lifetime; the retry then meets
    the URL expired, and the record is read again for a fresh one."""
    backend, app = emulator.app.backend, emulator.app
    offset = [0.0]
    backend.clock = lambda: time.monotonic() + offset[0]
    backend.containers._clock = backend.clock
    backend.faults.container_url_seconds = LIFETIME
    first_hops = [0]
    dispatch = app.dispatch

    def busy_then(request):
        if request.path.startswith(STREAMING_PREFIX) and (
            COOKIE_NAME not in request.cookies
        ):
            first_hops[0] += 1
            # Odd ones: a URL's first try (the even ones meet it expired).
            if first_hops[0] % 2 and first_hops[0] < 2 * times:
                offset[0] += LIFETIME + 1
                return responses.service_unavailable(0)
        return dispatch(request)

    app.dispatch = busy_then


def download(emulator, client) -> tuple[str, bytes]:
    expected = oracle(emulator)["1"]
    record = client.get_record("API_Images", "1")
    sink = io.BytesIO()
    client.download_field(
        "API_Images",
        "1",
        expected["field"],
        record.get(expected["field"]),
        sink,
        max_bytes=10**8,
    )
    return expected["sha256"], sink.getvalue()


def test_urls_that_age_while_waiting_are_read_afresh_beyond_the_stale_budget(
    emulator,
):
    # More waits than URL_REREADS: each fresh URL ages too, once.
    busy_while_urls_age(emulator, URL_REREADS + 2)
    with make_client(emulator, max_attempts=3) as client:
        sha256, body = download(emulator, client)
        rereads = client.observed.count(Observations.URL_REREAD)
    assert hashlib.sha256(body).hexdigest() == sha256
    assert rereads == URL_REREADS + 2


def test_aging_without_end_still_ends(emulator):
    busy_while_urls_age(emulator, 100)
    with make_client(emulator, max_attempts=3) as client:
        try:
            download(emulator, client)
        except ContainerUnauthorizedError:
            pass
        else:
            raise AssertionError("a URL that always ages cannot be downloaded")
        rereads = client.observed.count(Observations.URL_REREAD)
    assert rereads == AGED_REREADS + URL_REREADS  # bounded
