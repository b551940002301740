"""``manage.py filemaker_emulator`` as a real process: URL/CA lines, verified
HTTPS, clean SIGTERM, and no lost or corrupted write after SIGKILL."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

from filemaker_migration.emulator import make_app
from tests.emulator.conftest import wsgi_client

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def _start(dataset_dir: Path, *flags: str) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "filemaker_emulator", "--dataset",
         str(dataset_dir), "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    lines: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        key, _, value = line.strip().partition(" ")
        lines[key] = value
        if key == "CA_BUNDLE":
            break
    return process, lines["URL"], lines["CA_BUNDLE"]


def test_command_serves_https_and_stops_on_sigterm(dataset_dir: Path):
    process, url, ca_bundle = _start(dataset_dir, "--latency-ms", "0")
    try:
        assert url.startswith("https://127.0.0.1:")
        assert Path(ca_bundle) == dataset_dir / "tls" / "ca.pem"
        context = ssl.create_default_context(cafile=ca_bundle)
        with httpx.Client(base_url=url, verify=context) as client:
            response = client.get("/fmi/data/vLatest/productInfo")
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "stopped" in rest


def test_acknowledged_edit_survives_sigkill(dataset_dir: Path):
    process, url, ca_bundle = _start(dataset_dir)
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
        with httpx.Client(base_url=url, verify=context) as client:
            base = "/fmi/data/vLatest/databases/Clinic"
            token = client.post(
                f"{base}/sessions", auth=("api", "s3cret"), json={}
            ).json()["response"]["token"]
            edited = client.patch(
                f"{base}/layouts/API_Images/records/3",
                headers={"Authorization": f"Bearer {token}"},
                json={"fieldData": {"NexusExportDate": "09/10/2025"}},
            )
        assert edited.json()["response"] == {"modId": "1"}
    finally:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()

    app = make_app(dataset_dir)
    with wsgi_client(app) as client:
        token = client.post(
            "/fmi/data/v1/databases/Clinic/sessions", auth=("api", "s3cret"), json={}
        ).json()["response"]["token"]
        record = client.get(
            "/fmi/data/v1/databases/Clinic/layouts/API_Images/records/3",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["response"]["data"][0]
    app.close()
    assert record["fieldData"]["NexusExportDate"] == "09/10/2025"
    assert record["modId"] == "1"
