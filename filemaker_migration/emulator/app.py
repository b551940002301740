"""The WSGI application: random faults, routing, latency, error envelopes."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from filemaker_migration.dataset import Dataset
from filemaker_migration.dataset import load_dataset
from filemaker_migration.emulator import responses
from filemaker_migration.emulator.backend import Backend
from filemaker_migration.emulator.config import EmulatorConfig
from filemaker_migration.emulator.errors import FileMakerError
from filemaker_migration.emulator.errors import MethodNotSupported
from filemaker_migration.emulator.errors import ResourceMissing
from filemaker_migration.emulator.faults import FaultConfig
from filemaker_migration.emulator.realserver import TransferLimitExceeded
from filemaker_migration.emulator.realserver import UnsupportedMediaType
from filemaker_migration.emulator.routes import HANDLERS
from filemaker_migration.emulator.routes import STREAMING_ENDPOINTS
from filemaker_migration.emulator.routes import URL_MAP

logger = logging.getLogger(__name__)


class EmulatorApp:
    """A WSGI app emulating FileMaker Server's Data API and streaming service."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @property
    def faults(self) -> FaultConfig:
        """The live knobs; mutate them, or assign a new FaultConfig."""
        return self.backend.faults

    @faults.setter
    def faults(self, faults: FaultConfig) -> None:
        self.backend.set_faults(faults)

    def close(self) -> None:
        self.backend.close()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        fault = self.backend.injected_fault()
        if fault is not None:
            logger.info("fault %s on %s %s", fault, request.method, request.path)
        if fault == "drop":
            responses.drop_connection(request.environ)
        if fault == "502":
            return responses.bad_gateway()
        if fault == "503":
            return responses.service_unavailable(
                self.backend.faults.retry_after_seconds
            )
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except RequestRedirect as redirect:
            return redirect.get_response(request.environ)
        except MethodNotAllowed:
            return responses.error_response(MethodNotSupported())
        except HTTPException:
            return responses.error_response(ResourceMissing())
        backend, faults = self.backend, self.backend.faults
        streaming = endpoint in STREAMING_ENDPOINTS
        # Whether this answer counts against the transfer allowance.
        counted = not streaming or faults.transfer_counts_containers
        try:
            if faults.strict_validation:
                _check_content_type(endpoint, request)
            if counted and backend.meter.exhausted(faults.transfer_budget_bytes):
                raise TransferLimitExceeded()
            with self._gated(request):
                if not streaming and faults.latency_ms > 0:
                    backend.sleep(faults.latency_ms / 1000)
                response = HANDLERS[endpoint](backend, request, **args)
        except FileMakerError as error:
            logger.debug("%s %s -> %s", request.method, request.path, error)
            return responses.error_response(error)
        if counted:
            backend.meter.add(_body_size(response))
        return response

    def _gated(self, request: Request) -> AbstractContextManager[None]:
        """One request at a time per token, when the knob says so."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not self.backend.faults.one_request_per_token or scheme.lower() != "bearer":
            return contextlib.nullcontext()
        return self.backend.gate.hold(token.strip())


_JSON_BODIES = frozenset({"login", "find", "create_record", "edit_record"})


def _check_content_type(endpoint: str, request: Request) -> None:
    """A body FileMaker must parse needs its Content-Type (HTTP 415)."""
    wanted = (
        "application/json"
        if endpoint in _JSON_BODIES
        else "multipart/form-data"
        if endpoint == "upload_container"
        else None
    )
    if wanted is not None and request.mimetype != wanted:
        raise UnsupportedMediaType()


def _body_size(response: Response) -> int:
    if response.direct_passthrough:  # a streamed container
        return int(response.headers.get("Content-Length", "0") or 0)
    return len(response.get_data())


def make_app(
    dataset: Dataset | str | os.PathLike[str],
    config: EmulatorConfig | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> EmulatorApp:
    """Build the emulator for a dataset directory (or a loaded Dataset).

    ``clock`` and ``sleep`` are the seams tests use to expire tokens and
    container URLs and to record knob-induced waits without real time.
    """
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    return EmulatorApp(Backend(dataset, config, clock=clock, sleep=sleep))
