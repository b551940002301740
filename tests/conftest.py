"""Fixtures shared by the suite: real servers on loopback sockets.

- `s3_server`: moto's S3 server (ThreadedMotoServer) on 127.0.0.1, real HTTP.
- `clinic_dataset`: a small synthetic clinic (generated once per session).
- `emulator`: the FileMaker emulator serving it over HTTPS with its own CA,
  with fresh FileMaker state for each test.
- `migration_env`: Django settings pointing the import at both.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from moto.server import ThreadedMotoServer

from filemaker_migration.conf import object_store
from filemaker_migration.dataset.generate import account_password
from filemaker_migration.dataset.generate import generate_dataset
from filemaker_migration.emulator import EmulatorApp
from filemaker_migration.emulator import EmulatorConfig
from filemaker_migration.emulator import EmulatorServer
from filemaker_migration.emulator import make_app
from filemaker_migration.emulator import strict_profile

# Developers' runs explore new hypothesis examples each time; CI replays a fixed
# sequence, so that a submission's result does not depend on the draw.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# moto's server logs every request at INFO; failures are easier to read without.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

GENERIC_SETTINGS = "tests.generic_clinic.settings"


def pytest_ignore_collect(collection_path, config):
    # The generic clinic app's own tests need its settings (scripts/test.sh
    # runs them in the suite's second pass); the reference pass leaves them.
    generic = os.environ.get("DJANGO_SETTINGS_MODULE") == GENERIC_SETTINGS
    return (collection_path.name == "generic_clinic" and not generic) or None


CLINIC_SEED = 11
CLINIC_IMAGES = 120


@pytest.fixture(autouse=True)
def _hermetic_aws(monkeypatch, tmp_path):
    # No developer's AWS profile or credentials may leak into a test.
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))


@pytest.fixture(autouse=True)
def _import_processes(settings):
    # Imports run in this process unless the suite is run with worker
    # processes (scripts/test.sh does, for the migration's suites), never
    # with "auto", which would differ from machine to machine.
    settings.FILEMAKER_MIGRATION_PROCESSES = import_processes()


@pytest.fixture(scope="session")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def clinic_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clinic") / "dataset"
    generate_dataset(out, images=CLINIC_IMAGES, seed=CLINIC_SEED)
    return out


@pytest.fixture(scope="session")
def emulator_tls_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emulator-tls")


@dataclass
class RunningEmulator:
    app: EmulatorApp
    server: EmulatorServer
    dataset: Path

    @property
    def faults(self):
        return self.app.faults


def start_emulator(dataset: Path, state_dir: Path, tls_dir: Path) -> RunningEmulator:
    app = make_app(dataset, EmulatorConfig(state_dir=state_dir))
    server = EmulatorServer(app, port=0, tls_dir=tls_dir).start()
    return RunningEmulator(app=app, server=server, dataset=dataset)


@pytest.fixture
def emulator(clinic_dataset, emulator_tls_dir, tmp_path):
    running = start_emulator(clinic_dataset, tmp_path / "fm-state", emulator_tls_dir)
    yield running
    running.server.stop()
    running.app.close()


def point_settings_at(settings, emulator: RunningEmulator, s3_url: str, bucket: str):
    settings.FILEMAKER = {
        **settings.FILEMAKER,
        "URL": emulator.server.url,
        "DATABASE": "Clinic",
        "ACCOUNT": "api",
        "PASSWORD": account_password(CLINIC_SEED),
        "CA_BUNDLE": str(emulator.server.ca_bundle),
        "MAX_ATTEMPTS": 4,
        "FIELDS": {},
    }
    settings.S3 = {
        **settings.S3,
        "BUCKET": bucket,
        "ENDPOINT_URL": s3_url,
        "REGION": "ap-southeast-2",
        "ACCESS_KEY_ID": "test-access-key",
        "SECRET_ACCESS_KEY": "test-secret-key",
        "SSE": "AES256",
        "CA_BUNDLE": "",
    }


STRICT = "strict"
"""A test parameter: the emulator as strict as a real server (issue #14)."""


def use_profile(emulator: RunningEmulator, profile: str | None) -> None:
    """Turn on the emulator's strict-server profile when `profile` asks."""
    if profile == STRICT:
        emulator.app.faults = strict_profile()


def assert_strict_server_met(emulator: RunningEmulator) -> None:
    """The strict profile's behaviours were met by the run (none silently off)."""
    backend = emulator.app.backend
    assert backend.gate.peak_per_token >= 1
    assert backend.seen["stale_answers"] > 0
    assert backend.seen["stream_token_requests"] > 0
    assert backend.seen["html_pages"] > 0
    assert backend.locks.refused > 0
    assert backend.seen["portal_rows"] == 0  # every read asked for none


def import_processes() -> str:
    """The worker processes the suite's imports use: TEST_IMPORT_PROCESSES."""
    return os.environ.get("TEST_IMPORT_PROCESSES", "1")


@pytest.fixture
def migration_env(settings, emulator, s3_server, tmp_path):
    """Settings for one import against the emulator and a fresh bucket."""
    bucket = f"clinic-{uuid.uuid4().hex[:12]}"
    point_settings_at(settings, emulator, s3_server, bucket)
    settings.STATE_DIR = tmp_path / "state"
    store = object_store()
    store.create_private_bucket()
    return store
