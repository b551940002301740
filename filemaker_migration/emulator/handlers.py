"""One function per Data API endpoint: parse the request, ask the backend,
render the envelope. ``routes.py`` maps URLs to these names."""

from __future__ import annotations

import hmac
import json
from typing import Any

from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from filemaker_migration.dataset import LayoutSpec
from filemaker_migration.emulator import responses
from filemaker_migration.emulator.backend import Backend
from filemaker_migration.emulator.backend import Page
from filemaker_migration.emulator.containers import COOKIE_NAME
from filemaker_migration.emulator.containers import STREAMING_PREFIX
from filemaker_migration.emulator.containers import Pacer
from filemaker_migration.emulator.containers import chunk_size
from filemaker_migration.emulator.containers import content_type
from filemaker_migration.emulator.containers import stream_file
from filemaker_migration.emulator.errors import BadJson
from filemaker_migration.emulator.errors import FieldMissing
from filemaker_migration.emulator.errors import ParameterInvalid
from filemaker_migration.emulator.errors import ParameterMissing

_FIELD_META_DEFAULTS = {
    "global": False,
    "autoEnter": False,
    "fourDigitYear": False,
    "maxRepeat": 1,
    "maxCharacters": 0,
    "notEmpty": False,
    "numeric": False,
    "timeOfDay": False,
    "repetitionStart": 1,
    "repetitionEnd": 1,
}


def _json_body(request: Request) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadJson() from exc
    if not isinstance(body, dict):
        raise BadJson()
    return body


def _positive_int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise ParameterInvalid() from exc
    if number < 1:
        raise ParameterInvalid()
    return number


def _iso(value: Any) -> bool:
    return str(value).strip() == "2"


def _authenticated(backend: Backend, request: Request, database: str) -> None:
    backend.check_database(database)
    backend.authenticate(database, request.headers.get("Authorization"))


def _found_set(
    backend: Backend,
    request: Request,
    layout: str,
    page: Page,
    response_layout: Any,
    dateformats: Any,
) -> Response:
    spec: LayoutSpec = backend.layout(layout)
    shown = backend.layout(response_layout) if response_layout else spec
    data = [
        backend.render(shown, record, request.host, iso=_iso(dateformats))
        for record in page.records
    ]
    info = responses.data_info(backend.dataset.database, spec, page)
    return responses.envelope({"dataInfo": info, "data": data})


# -- meta ------------------------------------------------------------------


def product_info(backend: Backend, request: Request, version: str) -> Response:
    return responses.envelope(
        {
            "productInfo": {
                "name": "FileMaker Data API Engine",
                "buildDate": "03/27/2025",
                "version": backend.config.product_version,
                "dateFormat": "MM/dd/yyyy",
                "timeFormat": "HH:mm:ss",
                "timeStampFormat": "MM/dd/yyyy HH:mm:ss",
            }
        }
    )


def databases(backend: Backend, request: Request, version: str) -> Response:
    return responses.envelope({"databases": [{"name": backend.dataset.database}]})


def validate_session(backend: Backend, request: Request, version: str) -> Response:
    backend.authenticate(None, request.headers.get("Authorization"))
    return responses.envelope({"isSessionInUse": True})


def login(backend: Backend, request: Request, version: str, database: str) -> Response:
    _json_body(request)  # fmDataSource (external sources) is accepted and ignored
    token = backend.login(database, request.headers.get("Authorization"))
    return responses.envelope(
        {"token": token}, headers={"X-FM-Data-Access-Token": token}
    )


def logout(
    backend: Backend, request: Request, version: str, database: str, token: str
) -> Response:
    backend.logout(database, token)
    return responses.envelope({})


def layouts(
    backend: Backend, request: Request, version: str, database: str
) -> Response:
    _authenticated(backend, request, database)
    listed = [
        {"name": spec.name, "table": spec.table}
        for spec in backend.dataset.layouts.values()
    ]
    return responses.envelope({"layouts": listed})


def layout_metadata(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    spec = backend.layout(layout)
    meta = [
        {
            "name": field.name,
            "type": field.type,
            "displayType": "editText",
            "result": field.result,
            **_FIELD_META_DEFAULTS,
        }
        for field in spec.fields
    ]
    return responses.envelope(
        {"fieldMetaData": meta, "portalMetaData": {}, "valueLists": []}
    )


# -- records ---------------------------------------------------------------


def get_records(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    args = request.args
    page = backend.get_range(
        layout,
        _positive_int(args.get("_offset"), 1),
        _positive_int(args.get("_limit"), 100),
        args.get("_sort"),
    )
    return _found_set(
        backend,
        request,
        layout,
        page,
        args.get("layout.response"),
        args.get("dateformats"),
    )


def get_record(
    backend: Backend,
    request: Request,
    version: str,
    database: str,
    layout: str,
    record_id: str,
) -> Response:
    _authenticated(backend, request, database)
    page = backend.get_record(layout, record_id)
    args = request.args
    return _found_set(
        backend,
        request,
        layout,
        page,
        args.get("layout.response"),
        args.get("dateformats"),
    )


def find(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    body = _json_body(request)
    page = backend.find(
        layout,
        body.get("query"),
        _positive_int(body.get("offset"), 1),
        _positive_int(body.get("limit"), 100),
        body.get("sort"),
    )
    return _found_set(
        backend,
        request,
        layout,
        page,
        body.get("layout.response"),
        body.get("dateformats"),
    )


def create_record(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    body = _json_body(request)
    if "fieldData" not in body:
        raise ParameterMissing()
    record = backend.create(
        layout, body["fieldData"], iso=_iso(body.get("dateformats"))
    )
    return responses.envelope(
        {"recordId": str(record.record_id), "modId": str(record.mod_id)}
    )


def edit_record(
    backend: Backend,
    request: Request,
    version: str,
    database: str,
    layout: str,
    record_id: str,
) -> Response:
    _authenticated(backend, request, database)
    body = _json_body(request)
    if "fieldData" not in body:
        raise ParameterMissing()
    record = backend.edit(
        layout,
        record_id,
        body["fieldData"],
        mod_id=body.get("modId"),
        iso=_iso(body.get("dateformats")),
    )
    return responses.envelope({"modId": str(record.mod_id)})


def delete_record(
    backend: Backend,
    request: Request,
    version: str,
    database: str,
    layout: str,
    record_id: str,
) -> Response:
    _authenticated(backend, request, database)
    backend.delete(layout, record_id)
    return responses.envelope({})


def upload_container(
    backend: Backend,
    request: Request,
    version: str,
    database: str,
    layout: str,
    record_id: str,
    field: str,
    repetition: int,
) -> Response:
    _authenticated(backend, request, database)
    # Closing the request closes werkzeug's spooled temporary files.
    with request:
        upload = request.files.get("upload")
        if upload is None:
            raise ParameterInvalid("Upload payload must contain a part named 'upload'.")
        if repetition != 1:
            raise FieldMissing()
        record = backend.upload(
            layout, record_id, field, upload.filename or "upload", upload.stream
        )
    return responses.envelope({"modId": str(record.mod_id)})


# -- container streaming ---------------------------------------------------


def stream_container(
    backend: Backend, request: Request, folder: str, name: str
) -> Response:
    """The cookie handshake: 302 + per-object cookie, then 200 with the bytes.

    The cookie's Path is /Streaming_SSL (not the object's path), so one
    shared cookie jar holds one key at a time, as on a real server.
    """
    obj = backend.containers.lookup(name)
    if obj is None or not obj.path.is_file():
        return responses.unauthorized_stream()
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie is None:
        # UNCONFIRMED: the real Location may differ; clients resolve it
        # against the original URL or repeat the original URL.
        location = (
            request.url if "Redirect" in request.args else request.url + "&Redirect"
        )
        redirect = Response(b"", status=302, headers={"Location": location})
        redirect.set_cookie(
            COOKIE_NAME, obj.cookie, path=STREAMING_PREFIX, httponly=True
        )
        return redirect
    if not hmac.compare_digest(cookie.encode(), obj.cookie.encode()):
        return responses.unauthorized_stream()
    faults = backend.faults
    if faults.container_ttfb_ms > 0:
        backend.sleep(faults.container_ttfb_ms / 1000)
    size = obj.path.stat().st_size
    per_stream = Pacer(
        lambda: faults.stream_bytes_per_sec, backend.clock, backend.sleep
    )
    body = stream_file(
        obj.path,
        per_stream,
        backend.total_pacer,
        chunk_size(faults.stream_bytes_per_sec, faults.total_bytes_per_sec),
    )
    return Response(
        body,
        status=200,
        headers={"Content-Length": str(size)},
        content_type=content_type(obj.extension),
        direct_passthrough=True,
    )
