"""Fixtures for the emulator: a small hand-made dataset, and one contract
client per way of reaching a Data API (in-process WSGI, real HTTPS socket,
and a real FileMaker Server when FM_CONTRACT_URL is set)."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from filemaker_migration.dataset import FieldSpec
from filemaker_migration.dataset import LayoutSpec
from filemaker_migration.dataset import write_dataset_json
from filemaker_migration.emulator import EmulatorApp
from filemaker_migration.emulator import EmulatorServer
from filemaker_migration.emulator import make_app
from filemaker_migration.emulator.tls import ensure_tls

DATABASE = "Clinic"
ACCOUNT = "api"
PASSWORD = "s3cret"
PLANTED_MD5 = "0" * 32

IMAGES = LayoutSpec(
    name="API_Images",
    table="Images",
    fields=(
        FieldSpec("image_id"),
        FieldSpec("patient_id", result="number"),
        FieldSpec("taken", result="date"),
        FieldSpec("updated", result="timeStamp"),
        FieldSpec("caption"),
        FieldSpec("image_Full", result="container"),
        FieldSpec("image_Thumb", result="container"),
        FieldSpec("image_Full_MD5", type="calculation", calculation="md5:image_Full"),
        FieldSpec("NexusExportDate", result="date"),
    ),
)
CONTACTS = LayoutSpec(
    name="API_Contacts",
    table="Contacts",
    fields=(
        FieldSpec("contact_id", result="number"),
        FieldSpec("name"),
        FieldSpec("city"),
    ),
)


def _image(path: Path, fmt: str, color: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path, format=fmt)


def build_dataset(root: Path) -> Path:
    """Six images (ids 1, 2, 3, 4, 10, 11) and three contacts."""
    write_dataset_json(
        root,
        database=DATABASE,
        accounts={ACCOUNT: PASSWORD},
        layouts=[IMAGES, CONTACTS],
    )
    _image(root / "files/a.jpg", "JPEG", (200, 10, 10))
    _image(root / "files/a_thumb.png", "PNG", (10, 200, 10))
    _image(root / "files/b.png", "PNG", (10, 10, 200))
    _image(root / "files/c.tif", "TIFF", (50, 50, 50))
    (root / "files/d.pdf").write_bytes(b"%PDF-1.4\n% tiny\n%%EOF\n")
    (root / "files/blob.bin").write_bytes(bytes(range(256)) * 80)  # 20 KiB
    images = [
        {
            "image_id": "IMG-001",
            "patient_id": 10,
            "taken": "01/15/2024",
            "updated": "01/15/2024 09:30:00",
            "caption": "Left molar xray",
            "image_Full": "files/a.jpg",
            "image_Thumb": "files/a_thumb.png",
            "NexusExportDate": "",
        },
        {
            "image_id": "IMG-002",
            "patient_id": 10,
            "taken": "02/20/2024",
            "updated": "02/20/2024 14:00:00",
            "caption": "Right molar",
            "image_Full": "files/b.png",
            "image_Thumb": "",
            "NexusExportDate": "03/01/2024",
        },
        {
            "image_id": "IMG-003",
            "patient_id": 11,
            "taken": "12/31/2023",
            "updated": "01/02/2024 08:00:00",
            "caption": "Johnson bridge",
            "image_Full": "files/c.tif",
            "image_Thumb": "",
            "image_Full_MD5": PLANTED_MD5,
            "NexusExportDate": "",
        },
        {
            "image_id": "IMG-004",
            "patient_id": 12,
            "taken": "06/01/2024",
            "updated": "",
            "caption": "",
            "image_Full": "",
            "image_Thumb": "",
            "NexusExportDate": "",
        },
        {
            "recordId": 10,
            "fieldData": {
                "image_id": "IMG-010",
                "patient_id": 2,
                "taken": "03/05/2024",
                "updated": "03/05/2024 10:00:00",
                "caption": "John Doe scan",
                "image_Full": "files/d.pdf",
                "NexusExportDate": "",
            },
        },
        {
            "image_id": "IMG-011",
            "patient_id": 100,
            "taken": "",
            "updated": "",
            "caption": "johnny",
            "image_Full": "files/a.jpg",
            "image_Thumb": "files/blob.bin",
            "NexusExportDate": "",
        },
    ]
    contacts = [
        {"contact_id": 1, "name": "John Doe", "city": "Basel"},
        {"contact_id": 2, "name": "Jane Roe", "city": "Bern"},
        {"contact_id": 3, "name": "Joe Bloggs", "city": "Basel"},
    ]
    (root / "records").mkdir(exist_ok=True)
    for name, rows in (("API_Images", images), ("API_Contacts", contacts)):
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        (root / "records" / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    return root


class FakeClock:
    """Monotonic clock + sleep for the backend: sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def dataset_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_dataset(tmp_path_factory.mktemp("template") / "dataset")
    ensure_tls(root / "tls")  # key generation once per run, not per test
    return root


@pytest.fixture
def dataset_dir(tmp_path: Path, dataset_template: Path) -> Path:
    return Path(shutil.copytree(dataset_template, tmp_path / "dataset"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(dataset_dir: Path, clock: FakeClock) -> Iterator[EmulatorApp]:
    application = make_app(dataset_dir, clock=clock, sleep=clock.sleep)
    yield application
    application.close()


def wsgi_client(app: EmulatorApp) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="https://fm.test"
    )


@dataclass
class Contract:
    """One way of talking to a Data API, with the emulator's handles if any."""

    kind: str
    new_client: Callable[[], httpx.Client]
    database: str
    layout: str
    account: str
    password: str
    app: EmulatorApp | None = None
    clock: FakeClock | None = None
    server: EmulatorServer | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.fresh_client()

    def fresh_client(self) -> httpx.Client:
        """A client with its own cookie jar (one per container download)."""
        client = self.new_client()
        self.clients.append(client)
        return client

    def path(self, rest: str = "", database: str | None = None) -> str:
        return f"/fmi/data/vLatest/databases/{database or self.database}{rest}"

    def api(
        self, method: str, rest: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, self.path(rest), headers=headers, **kwargs)

    def login(self) -> str:
        response = self.client.post(
            self.path("/sessions"), auth=(self.account, self.password), json={}
        )
        assert response.status_code == 200, response.text
        return response.json()["response"]["token"]

    def close(self) -> None:
        for client in self.clients:
            client.close()


def _in_process(dataset_dir: Path) -> tuple[Contract, Callable[[], None]]:
    clock = FakeClock()
    app = make_app(dataset_dir, clock=clock, sleep=clock.sleep)
    contract = Contract(
        "inprocess", lambda: wsgi_client(app), DATABASE, "API_Images", ACCOUNT,
        PASSWORD, app=app, clock=clock,
    )  # fmt: skip
    return contract, app.close


def _https(dataset_dir: Path) -> tuple[Contract, Callable[[], None]]:
    clock = FakeClock()
    app = make_app(dataset_dir, clock=clock, sleep=clock.sleep)
    server = EmulatorServer(app, port=0).start()
    context = server.ssl_context()
    contract = Contract(
        "https",
        lambda: httpx.Client(base_url=server.url, verify=context, timeout=30),
        DATABASE, "API_Images", ACCOUNT, PASSWORD, app=app, clock=clock, server=server,
    )  # fmt: skip

    def close() -> None:
        server.stop()
        app.close()

    return contract, close


def _real_server() -> tuple[Contract, Callable[[], None]]:
    env = os.environ
    ca = env.get("FM_CONTRACT_CA_BUNDLE")
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=ca) if ca else True
    )
    contract = Contract(
        "realserver",
        lambda: httpx.Client(
            base_url=env["FM_CONTRACT_URL"], verify=verify, timeout=60
        ),
        env["FM_CONTRACT_DATABASE"],
        env["FM_CONTRACT_LAYOUT"],
        env["FM_CONTRACT_ACCOUNT"],
        env["FM_CONTRACT_PASSWORD"],
    )
    return contract, lambda: None


EMULATOR_KINDS = ["inprocess", "https"]
CONTRACT_KINDS = [*EMULATOR_KINDS]
if os.environ.get("FM_CONTRACT_URL"):
    # Only collected when pointed at a real server: no skips in normal runs.
    CONTRACT_KINDS.append(pytest.param("realserver", marks=pytest.mark.realserver))


def _contract(request: pytest.FixtureRequest, dataset_dir: Path) -> Iterator[Contract]:
    if request.param == "realserver":
        contract, close = _real_server()
    elif request.param == "https":
        contract, close = _https(dataset_dir)
    else:
        contract, close = _in_process(dataset_dir)
    yield contract
    contract.close()
    close()


@pytest.fixture(params=CONTRACT_KINDS)
def contract(request: pytest.FixtureRequest, dataset_dir: Path) -> Iterator[Contract]:
    """Any Data API: tests using it assert only server-independent behaviour."""
    yield from _contract(request, dataset_dir)


@pytest.fixture(params=EMULATOR_KINDS)
def fm(request: pytest.FixtureRequest, dataset_dir: Path) -> Iterator[Contract]:
    """The emulator with the test dataset, in-process and over HTTPS."""
    yield from _contract(request, dataset_dir)


@pytest.fixture
def token(fm: Contract) -> str:
    return fm.login()


def code(response: httpx.Response) -> str:
    return response.json()["messages"][0]["code"]
