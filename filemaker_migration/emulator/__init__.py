"""A FileMaker Data API emulator (no Django): in-process WSGI or HTTPS server.

    app = make_app("path/to/dataset", EmulatorConfig(faults=FaultConfig(...)))
    httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://fm.test")

    with EmulatorServer(app, port=0) as server:     # real TLS socket
        httpx.Client(verify=server.ssl_context(), base_url=server.url)

Modules follow moto's split: ``routes`` (URL table), ``handlers`` and
``responses`` (HTTP in and out), ``backend``/``_sessions``/``store`` (state),
``errors`` (FileMaker codes), ``faults`` (knobs), ``realserver`` and
``streaming`` (what real servers do beyond the basics), ``tls`` and ``server``
(HTTPS).
"""

from filemaker_migration.emulator.app import EmulatorApp
from filemaker_migration.emulator.app import make_app
from filemaker_migration.emulator.backend import Backend
from filemaker_migration.emulator.config import EmulatorConfig
from filemaker_migration.emulator.errors import FileMakerError
from filemaker_migration.emulator.faults import FaultConfig
from filemaker_migration.emulator.faults import field_docs
from filemaker_migration.emulator.faults import strict_profile
from filemaker_migration.emulator.responses import DroppedConnection
from filemaker_migration.emulator.server import EmulatorServer
from filemaker_migration.emulator.server import serve

__all__ = [
    "Backend",
    "DroppedConnection",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultConfig",
    "FileMakerError",
    "field_docs",
    "make_app",
    "serve",
    "strict_profile",
]
