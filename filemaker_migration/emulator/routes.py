"""The URL table (moto's urls.py): paths and methods -> handler names."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.routing import Map
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from filemaker_migration.emulator import handlers
from filemaker_migration.emulator import streaming

_DB = "/fmi/data/<any(v1, v2, vLatest):version>/databases/<database>"
_LAYOUT = f"{_DB}/layouts/<layout>"

# strict_slashes=False: fmrest logs in with a trailing slash (".../sessions/").
URL_MAP = Map(
    [
        Rule(
            "/fmi/data/<any(v1, v2, vLatest):version>/productInfo",
            methods=["GET"],
            endpoint="product_info",
        ),
        Rule(
            "/fmi/data/<any(v1, v2, vLatest):version>/databases",
            methods=["GET"],
            endpoint="databases",
        ),
        Rule(
            "/fmi/data/<any(v1, v2, vLatest):version>/validateSession",
            methods=["GET"],
            endpoint="validate_session",
        ),
        Rule(f"{_DB}/sessions", methods=["POST"], endpoint="login"),
        Rule(f"{_DB}/sessions/<token>", methods=["DELETE"], endpoint="logout"),
        Rule(f"{_DB}/layouts", methods=["GET"], endpoint="layouts"),
        Rule(_LAYOUT, methods=["GET"], endpoint="layout_metadata"),
        Rule(f"{_LAYOUT}/records", methods=["GET"], endpoint="get_records"),
        Rule(f"{_LAYOUT}/records", methods=["POST"], endpoint="create_record"),
        Rule(f"{_LAYOUT}/records/<record_id>", methods=["GET"], endpoint="get_record"),
        Rule(
            f"{_LAYOUT}/records/<record_id>", methods=["PATCH"], endpoint="edit_record"
        ),
        Rule(
            f"{_LAYOUT}/records/<record_id>",
            methods=["DELETE"],
            endpoint="delete_record",
        ),
        Rule(
            f"{_LAYOUT}/records/<record_id>/containers/<field>/<int:repetition>",
            methods=["POST"],
            endpoint="upload_container",
        ),
        Rule(f"{_LAYOUT}/_find", methods=["POST"], endpoint="find"),
        Rule(
            "/Streaming_SSL/<folder>/<name>",
            methods=["GET"],
            endpoint="stream_container",
        ),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

STREAMING_ENDPOINTS = frozenset({"stream_container"})
"""Endpoints of the streaming service: no Data API latency knob."""

# Each handler takes (backend, request, **url_arguments).
HANDLERS: dict[str, Callable[..., Response]] = {
    rule.endpoint: getattr(
        streaming if rule.endpoint in STREAMING_ENDPOINTS else handlers,
        rule.endpoint,
    )
    for rule in URL_MAP.iter_rules()
}
