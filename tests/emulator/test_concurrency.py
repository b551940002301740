"""The HTTPS server serves many connections at once, without serialising."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from filemaker_migration.emulator import EmulatorServer
from filemaker_migration.emulator import FaultConfig
from filemaker_migration.emulator import make_app
from filemaker_migration.emulator.config import EmulatorConfig

STREAMS = 64
TTFB_MS = 1


def test_64_slow_container_streams_are_served_concurrently(dataset_dir: Path):
    """Every stream waits at a 64-party barrier before its first byte, so the
    test can only pass if all 64 connections are open at the same time; the
    bandwidth cap then keeps them streaming slowly side by side."""
    barrier = threading.Barrier(STREAMS)

    def sleep(seconds: float) -> None:
        if seconds == TTFB_MS / 1000:
            barrier.wait(timeout=30)
        else:
            time.sleep(seconds)

    faults = FaultConfig(container_ttfb_ms=TTFB_MS, stream_bytes_per_sec=40_000)
    app = make_app(dataset_dir, EmulatorConfig(faults=faults), sleep=sleep)
    expected = {
        "image_Full": (dataset_dir / "files/a.jpg").read_bytes(),
        "image_Thumb": (dataset_dir / "files/blob.bin").read_bytes(),
    }
    with EmulatorServer(app, port=0) as server:
        context = server.ssl_context()
        with httpx.Client(base_url=server.url, verify=context) as client:
            token = client.post(
                "/fmi/data/vLatest/databases/Clinic/sessions",
                auth=("api", "s3cret"),
                json={},
            ).json()["response"]["token"]
            record = client.get(
                "/fmi/data/vLatest/databases/Clinic/layouts/API_Images/records/11",
                headers={"Authorization": f"Bearer {token}"},
            ).json()["response"]["data"][0]["fieldData"]

        def download(index: int) -> bool:
            field = "image_Full" if index % 2 else "image_Thumb"
            with httpx.Client(verify=context, timeout=60) as own_jar:
                response = own_jar.get(record[field], follow_redirects=True)
            return response.status_code == 200 and response.content == expected[field]

        with ThreadPoolExecutor(max_workers=STREAMS) as pool:
            results = list(pool.map(download, range(STREAMS)))
    app.close()
    assert results == [True] * STREAMS
