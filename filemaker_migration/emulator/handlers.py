"""One function per Data API endpoint: parse the request, ask the backend,
render the envelope. ``routes.py`` maps URLs to these names."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from filemaker_migration.dataset import LayoutSpec
from filemaker_migration.emulator import responses
from filemaker_migration.emulator.backend import Backend
from filemaker_migration.emulator.backend import Page
from filemaker_migration.emulator.errors import BadJson
from filemaker_migration.emulator.errors import FieldMissing
from filemaker_migration.emulator.errors import ParameterInvalid
from filemaker_migration.emulator.errors import ParameterMissing
from filemaker_migration.emulator.realserver import PORTAL
from filemaker_migration.emulator.realserver import BadParameter
from filemaker_migration.emulator.realserver import check_find_keys
from filemaker_migration.emulator.realserver import portal_meta
from filemaker_migration.emulator.realserver import portal_selection

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


def _field_data_body(request: Request) -> dict[str, Any]:
    """A create's or an edit's body: one without fieldData answers 958."""
    body = _json_body(request)
    if "fieldData" not in body:
        raise ParameterMissing()
    return body


def _positive_int(value: Any, default: int, strict: bool = False) -> int:
    """A paging value; a bad one answers 960 (HTTP 400 under strict validation)."""
    invalid = BadParameter if strict else ParameterInvalid
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise invalid() from exc
    if number < 1:
        raise invalid()
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
    options: Any,
    *,
    fresh: bool,
    underscore: str = "_",
) -> Response:
    """Render a page; ``options`` are the query args or the find's body
    (portal paging keys: ``_limit.P`` in a query, ``limit.P`` in a body)."""
    spec: LayoutSpec = backend.layout(layout)
    response_layout = options.get("layout.response")
    shown = backend.layout(response_layout) if response_layout else spec
    strict = backend.faults.strict_validation
    portals = portal_selection(options.get("portal"))
    limit = options.get(f"{underscore}limit.{PORTAL}")
    portal_limit = None if limit is None else _positive_int(limit, 50, strict)
    data = [
        backend.render(
            shown,
            record,
            request.host,
            iso=_iso(options.get("dateformats")),
            fresh=fresh,
            portals=portals,
            portal_limit=portal_limit,
        )
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
    portals = portal_meta() if backend.faults.portal_rows > 0 else {}
    return responses.envelope(
        {"fieldMetaData": meta, "portalMetaData": portals, "valueLists": []}
    )


# -- records ---------------------------------------------------------------


def get_records(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    args = request.args
    strict = backend.faults.strict_validation
    page = backend.get_range(
        layout,
        _positive_int(args.get("_offset"), 1, strict),
        _positive_int(args.get("_limit"), 100, strict),
        args.get("_sort"),
    )
    return _found_set(backend, request, layout, page, args, fresh=False)


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
    return _found_set(backend, request, layout, page, request.args, fresh=True)


def find(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    body = _json_body(request)
    strict = backend.faults.strict_validation
    if strict:
        check_find_keys(body)
    page = backend.find(
        layout,
        body.get("query"),
        _positive_int(body.get("offset"), 1, strict),
        _positive_int(body.get("limit"), 100, strict),
        body.get("sort"),
    )
    return _found_set(backend, request, layout, page, body, fresh=False, underscore="")


def create_record(
    backend: Backend, request: Request, version: str, database: str, layout: str
) -> Response:
    _authenticated(backend, request, database)
    body = _field_data_body(request)
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
    body = _field_data_body(request)
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
