"""The OpenAPI document's cross-cutting truths, stated once: headers, statuses and strictness every route shares.

Litestar builds the document from each handler; what the handlers share (authentication, rate limiting,
Idempotency-Key, If-Match, ETag, X-Correlation-ID, the public routes) is added here from what the handlers
actually do, so the document cannot drift from the code route by route.
"""
from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import (
    OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, Operation, Parameter, Reference, RequestBody, Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from api.http import CURSOR_PATTERN, errors
from api.problems import PROBLEM_JSON

COMMANDS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Role guards (api.auth.requires_role) refuse with 403; tenant routes refuse a worker token the same way.
ROLE_GUARD_PREFIX = "requires_"


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """A Struct with `forbid_unknown_fields` refuses unknown fields: its schema says so."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return (super().is_plugin_supported_field(field_definition)
                and field_definition.type_.__struct_config__.forbid_unknown_fields)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        # Litestar drops a bound of 0 on an optional field (`ge=0` of `float | None`): restore each bound.
        for field in msgspec.inspect.type_info(field_definition.type_).fields:  # type: ignore[union-attr]
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _restore_bounds(prop, field.type)
                _no_nul(prop)
        schema.__dict__.update(CROSS_FIELD.get(field_definition.type_.__name__, {}))
        return schema


def _no_nul(schema: Schema) -> None:
    """A body's text never holds NUL (api.problems.strict_body: PostgreSQL cannot store it)."""
    for part in [schema, *(s for s in (schema.one_of or []) if isinstance(s, Schema))]:
        if part.type == OpenAPIType.STRING and part.format is None and part.enum is None and part.const is None:
            if part.pattern is None:
                part.pattern = NO_NUL
            elif part.pattern != NO_NUL:
                part.all_of = [Schema(pattern=NO_NUL)]


# Rules between fields of a body that JSON Schema can state (the domain checks them).
CROSS_FIELD: dict[str, dict[str, Any]] = {
    # domain.assets: a scene_index names a scene of project_id.
    "RegisterAsset": {
        "schema_if": Schema(required=["scene_index"],
                            properties={"scene_index": Schema(type=OpenAPIType.INTEGER)}),
        "then": Schema(required=["project_id"], properties={"project_id": Schema(type=OpenAPIType.STRING)}),
    },
}


_BOUNDS = (("ge", "minimum"), ("gt", "exclusive_minimum"), ("le", "maximum"), ("lt", "exclusive_maximum"),
           ("min_length", "min_length"), ("max_length", "max_length"), ("pattern", "pattern"))


def _restore_bounds(schema: Schema, info: Any) -> None:
    """Put an optional value's constraints (msgspec Meta, or a Litestar Parameter) on its schema, zeros included."""
    for part in getattr(info, "types", None) or (info,):
        for source, target in _BOUNDS:
            value = getattr(part, source, None)
            if value is not None and getattr(schema, target, None) is None:
                setattr(schema, target, value)


def _str(**kw: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, **kw)


def _int(**kw: Any) -> Schema:
    return Schema(type=OpenAPIType.INTEGER, **kw)


def _header(description: str, schema: Schema, *, required: bool = False) -> OpenAPIHeader:
    return OpenAPIHeader(schema=schema, description=description, required=required)


def _request_header(name: str, description: str, schema: Schema) -> Parameter:
    return Parameter(name=name, param_in="header", schema=schema, description=description, required=False)


NO_NUL = "^[^\\u0000]*$"
CORRELATION_ID = _str(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")
IF_MATCH = _request_header(
    "If-Match", 'Apply only if the resource is still at this version (its ETag, e.g. "3"); 412 when stale.',
    # api.http.if_match as merged with i11-http: "N", W/"N", bare N, or * (quotes balanced).
    _str(pattern=r'^[ \t]*(\*|(W/)?("[0-9]{1,18}"|[0-9]{1,18}))[ \t]*$', max_length=26))
IDEMPOTENCY_KEY = _request_header(
    "Idempotency-Key", "A repeat with the same key returns the first answer and appends nothing.",
    _str(pattern=r"^[A-Za-z0-9._:\-]{1,128}$", min_length=1, max_length=128))
# Any value is accepted: one that is not a safe token (CORRELATION_ID) is replaced by a new id.
X_CORRELATION_ID = _request_header(
    "X-Correlation-ID", "Carried into every event the request records; when absent, or not 1-128 characters of "
    "A-Z a-z 0-9 . _ : -, a new one is made.", _str())

ETAG = _header('The resource\'s version in quotes, e.g. "3": send it back as If-Match.',
               _str(pattern=r'^"[0-9]+"$'), required=True)
LOCATION = _header("The URL of the created resource.", _str(), required=True)
RESPONSE_CORRELATION_ID = _header("The request's correlation id.", CORRELATION_ID, required=True)
RETRY_AFTER = _header("Seconds to wait before retrying.", _int(minimum=0))
IDEMPOTENT_REPLAYED = _header("Present (true) when this is the stored answer to an earlier request with the "
                              "same Idempotency-Key.", _str(enum=["true"]))
CONTENT_LENGTH = _header("Size of the bytes.", _int(minimum=0), required=True)
CONTENT_DISPOSITION = _header("attachment, named by the asset id.", _str(), required=True)
WWW_AUTHENTICATE = _header("The bearer challenge.", _str(), required=True)
RATE_LIMIT = {
    "RateLimit-Policy": _header("The limit and its window, e.g. 50; w=1 (when rate limiting is on).", _str()),
    "RateLimit-Limit": _header("Requests allowed in the window (when rate limiting is on).", _int(minimum=0)),
    "RateLimit-Remaining": _header("Requests left in the window (when rate limiting is on).", _int(minimum=0)),
    "RateLimit-Reset": _header("Seconds until the window resets (when rate limiting is on).", _int(minimum=0)),
}


# Query parameters whose format the handlers check themselves (api.http.parse_at, decode_cursor,
# api.controllers.audit.parse_time): their schemas say which values are accepted.
AT = Schema(one_of=[_int(minimum=1, maximum=10**18 - 1), _str(format="date-time")],  # type: ignore[arg-type]
            description="A version number or an RFC 3339 time")
QUERY_SCHEMAS = {
    "at": AT,
    "since": _str(format="date-time", description="An RFC 3339 time (on recorded_at)"),
    "until": _str(format="date-time", description="An RFC 3339 time (on recorded_at)"),
    # A list's next_cursor (api.http.encode_cursor): 24 bytes, base64url; the audit list's is a position.
    "cursor": _str(pattern=CURSOR_PATTERN, description="The next_cursor of the previous page"),
}


def _query_schemas(params: list[Any], handler: Any) -> None:
    signature = handler.parsed_fn_signature.parameters
    for param in params:
        if not isinstance(param, Parameter) or param.param_in != "query":
            continue
        schema = param.schema = replace(param.schema) if isinstance(param.schema, Schema) else param.schema
        if isinstance(schema, Schema) and schema.one_of:
            # A query parameter is absent or a value, never null: keep the value's schema with its bounds.
            values = [s for s in schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.NULL)]
            if len(values) == 1 and isinstance(values[0], Schema):
                value = replace(values[0])
                for _, target in _BOUNDS + (("", "description"),):
                    if getattr(value, target, None) is None and getattr(schema, target, None) is not None:
                        setattr(value, target, getattr(schema, target))
                param.schema = schema = value
        field = signature.get(param.name)
        if isinstance(schema, Schema) and field is not None and field.kwarg_definition is not None:
            _restore_bounds(schema, field.kwarg_definition)
        if isinstance(schema, Schema) and schema.type == OpenAPIType.STRING and schema.pattern is None \
                and schema.format is None and param.name not in QUERY_SCHEMAS:
            schema.pattern = NO_NUL  # api.problems.reject_nul_in_query
        if param.name in QUERY_SCHEMAS:
            schema = param.schema
            if param.name == "cursor" and isinstance(schema, Schema) and schema.pattern:
                continue  # declared by its handler (the audit list)
            param.schema = QUERY_SCHEMAS[param.name]


def _code_of(handler: Any) -> Any:
    fn = handler.fn
    fn = getattr(fn, "func", fn)  # sync_to_thread handlers are wrapped once more
    return getattr(inspect.unwrap(fn), "__code__", None) or (lambda: None).__code__


def _calls(handler: Any, name: str) -> bool:
    """Whether the handler's own body calls the api.http helper `name` (if_match, etag)."""
    return name in _code_of(handler).co_names


def _sets_location(handler: Any) -> bool:
    return "Location" in _code_of(handler).co_consts


def _role_guarded(handler: Any) -> bool:
    guards = (getattr(g, "func", g) for g in handler.resolve_guards())  # resolved guards are wrapped
    return any(getattr(g, "__name__", "").startswith(ROLE_GUARD_PREFIX) for g in guards)


def _problem_response(responses: dict[str, Any], code: str) -> None:
    """Declare a problem response (the same entry api.http.errors() gives a controller)."""
    if code not in responses:
        spec = errors(int(code))[int(code)]
        responses[code] = OpenAPIResponse(description=spec.description, content={
            PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))})


def _add_header(response: Any, name: str, header: OpenAPIHeader) -> None:
    if isinstance(response, OpenAPIResponse):
        response.headers = {**(response.headers or {}), name: header}


def _finish_operation(op: Operation, method: str, handler: Any) -> None:
    # The handler's name (create_project, update_project…): what generated clients call their functions.
    op.operation_id = {"get": "metrics"}.get(handler.handler_name, handler.handler_name)
    public = bool(handler.opt.get("exclude_from_auth"))
    responses = op.responses if op.responses is not None else {}
    op.responses = responses
    params = list(op.parameters or [])
    _query_schemas(params, handler)
    takes_if_match = "expected_version" in handler.parsed_fn_signature.parameters  # api.http.if_match, a dependency

    if public:
        op.security = []  # no token needed (the document's default asks for one)
    else:
        for code in ("401", "429", "503"):
            _problem_response(responses, code)
        if _role_guarded(handler):
            _problem_response(responses, "403")
        if method in COMMANDS:
            # Every command takes an Idempotency-Key: a bad one is 422, one still in flight 409, and the body
            # is read to fingerprint the request (413 when too large).
            for code in ("409", "413", "422"):
                _problem_response(responses, code)
            params.append(IDEMPOTENCY_KEY)
    if takes_if_match:
        params.append(IF_MATCH)
        _problem_response(responses, "412")
    else:
        responses.pop("412", None)  # only a route that reads If-Match can find it stale
    params.append(X_CORRELATION_ID)
    op.parameters = params

    if handler.parsed_data_field is not None and handler.parsed_data_field.is_optional and op.request_body:
        op.request_body.required = False  # type: ignore[union-attr]
    if handler.opt.get("raw_body"):  # the body is the bytes themselves, streamed (api/controllers/jobs.py outputs)
        op.request_body = RequestBody(required=True, description="The raw bytes (any media type; kept as metadata "
                                      "content_type)", content={"application/octet-stream": OpenAPIMediaType(
                                          schema=_str(format="binary"))})

    for code, response in responses.items():
        _add_header(response, "X-Correlation-ID", RESPONSE_CORRELATION_ID)
        if not public or handler.opt.get("rate_limited"):  # a public route limited per address (sign-in)
            for name, header in RATE_LIMIT.items():
                _add_header(response, name, header)
        if code in ("429", "503"):
            _add_header(response, "Retry-After", RETRY_AFTER)
        if code == "401":
            _add_header(response, "WWW-Authenticate", WWW_AUTHENTICATE)
        if not code.startswith("2"):
            continue
        if handler.opt.get("download"):  # bytes (api/controllers/assets.py download_asset)
            _add_header(response, "Content-Length", CONTENT_LENGTH)
            _add_header(response, "Content-Disposition", CONTENT_DISPOSITION)
            # Served as uploaded when it said image/…, audio/… or video/… (api/controllers/jobs.py), else bytes.
            response.content = {kind: OpenAPIMediaType(schema=_str(format="binary"))  # type: ignore[union-attr]
                                for kind in ("application/octet-stream", "image/*", "audio/*", "video/*")}
        if handler.opt.get("any_of") and isinstance(response, OpenAPIResponse):
            # Answers that are supersets of one another (a job, the manifest of a job): anyOf, as a
            # manifest is also a valid job and oneOf would refuse it.
            for media in (response.content or {}).values():
                if isinstance(media.schema, Schema) and media.schema.one_of:
                    media.schema.any_of, media.schema.one_of = media.schema.one_of, None
        if _calls(handler, "etag") and code != "204":
            _add_header(response, "ETag", ETAG)
        if _sets_location(handler) and code != "204":
            _add_header(response, "Location", LOCATION)
        if method in COMMANDS and not public:
            _add_header(response, "Idempotent-Replayed", IDEMPOTENT_REPLAYED)


def finish_openapi(app: Litestar) -> None:
    """Complete the app's OpenAPI document in place (built once, here, when the app is made)."""
    doc = app.openapi_schema
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in (doc.paths or {}):
            continue
        path_item = doc.paths[route.path_format]  # type: ignore[index]
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods:
                op = getattr(path_item, method.lower(), None)
                if op is not None:
                    _finish_operation(op, method, handler)
