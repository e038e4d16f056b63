"""One error mapping for the whole API: every failure becomes RFC 9457 problem JSON, never a trace."""
from __future__ import annotations

import logging
import math
import re
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.constants import RESERVED_KWARGS
from litestar.exceptions import HTTPException, ValidationException

from api.validation import MalformedBody, decode, describe, field_errors
from domain import errors as e

log = logging.getLogger("avm.api")

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    reason: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details; `errors` names each bad field; quota refusals (429) name the quota, its
    limit and when it resets; a refused status change (409) names the current status and the allowed ones."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    quota: str | None = None
    limit: int | None = None
    resets_at: datetime | None = None
    current: str | None = None
    allowed: list[str] | None = None


STATUS_OF: tuple[tuple[type[e.DomainProblem], int], ...] = (
    (e.StaleVersion, 412),
    (e.SignInRefused, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.ValidationProblem, 422),
    (e.Conflict, 409),
    (e.QuotaExceeded, 429),
    (e.DomainProblem, 422),
)
# The part of the request a refusal is about, where the domain cannot name it (it knows no header).
FIELD_OF: tuple[tuple[type[e.DomainProblem], str], ...] = (
    (e.StaleVersion, "If-Match"),
)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def problem(status: int, title: str, detail: str, errors: list[FieldError] | None = None,
            headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Response[Any]:
    body: dict[str, Any] = {"type": f"https://avm.example/problems/{_slug(title)}", "title": title,
                            "status": status, "detail": detail}
    if errors:
        body["errors"] = [{"field": f.field, "reason": f.reason} for f in errors]
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def retry_after_seconds(resets_at: str, now: datetime | None = None) -> int:
    """Retry-After (RFC 9110 §10.2.3) as delay-seconds: whole seconds until the quota resets, at least 1."""
    now = now or datetime.now(timezone.utc)
    return max(1, math.ceil((datetime.fromisoformat(resets_at) - now).total_seconds()))


def domain_problem_handler(_: Request[Any, Any, Any], exc: e.DomainProblem) -> Response[Any]:
    status = next(code for cls, code in STATUS_OF if isinstance(exc, cls))
    field = exc.field or next((name for cls, name in FIELD_OF if isinstance(exc, cls)), None)
    errors = [FieldError(field=field, reason=exc.detail)] if field else None
    extra = {k: v for k, v in exc.extra.items() if k in ("current", "allowed", "quota", "limit", "resets_at")}
    detail = exc.detail
    if status == 422 and exc.field and not re.match(rf"{re.escape(exc.field)}\b", detail):
        detail = f"{exc.field}: {detail}"  # as every 422 says it: `field: reason`
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, e.QuotaExceeded) and exc.extra.get("resets_at"):
        headers = {"Retry-After": str(retry_after_seconds(str(exc.extra["resets_at"])))}
    return problem(status, exc.title, detail, errors, headers=headers, extra=extra or None)



def _field_errors(exc: ValidationException) -> list[FieldError]:
    out: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        if "field" in item:  # already one sentence about one field (strict_body)
            out.append(FieldError(field=str(item["field"]), reason=str(item.get("message", "is not valid"))))
            continue
        key = item.get("key")
        field, reason = describe(str(item.get("message", "is not valid")),
                                 path=str(key) if key and key != "data" else "")
        out.append(FieldError(field=field, reason=reason))
    return out


class BadBody(HTTPException):
    """A body the JSON parser refused (400), naming the key or field when one is known."""

    status_code = 400

    def __init__(self, reason: str, field: str = "body") -> None:
        super().__init__(detail=reason)
        self.field = field


def bad_body_handler(_: Request[Any, Any, Any], exc: BadBody) -> Response[Any]:
    detail = exc.detail if exc.field == "body" else f"{exc.field}: {exc.detail}"
    return problem(400, "Malformed JSON", detail, [FieldError(field=exc.field, reason=exc.detail)])


# Litestar's words for a required query, header, cookie or path parameter that is absent: the field is its name.
_MISSING_PARAMETER = re.compile(r"Missing required (query|header|cookie|path) parameter '([^']{1,200})'")


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_errors(exc)
    text = (exc.detail or "") + " ".join(f.reason for f in errors)
    if "malformed" in text.lower() or "invalid json" in text.lower():
        return problem(400, "Malformed JSON", "the request body is not valid JSON",
                       errors or [FieldError(field="body", reason="malformed JSON")])
    if not errors:
        missing = _MISSING_PARAMETER.match(exc.detail or "")
        errors = [FieldError(field=missing[2], reason=f"is required (a {missing[1]} parameter)") if missing
                  else FieldError(field="body", reason=exc.detail or "invalid request")]
    detail = "; ".join(f"{f.field}: {f.reason}" for f in errors)
    return problem(422, "Invalid input", detail, errors)


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if status < 500 else "the server could not complete the request"
    if status == 404:
        title, detail = e.NotFound.title, "resource not found"  # one type, one title (RFC 9457 §3.1.3)
    field_errors = None
    if status == 400:
        field_errors = [FieldError(field="body", reason=detail)]
        if "malformed" in detail.lower():
            title = "Malformed JSON"
    headers = exc.headers
    if status == 429 and headers and "RateLimit-Reset" in headers and "Retry-After" not in headers:
        # Litestar's rate limiter says when the window resets; say it as every 429 does (RFC 9110 §10.2.3)
        wait = max(1, int(headers["RateLimit-Reset"]))
        headers = {**headers, "Retry-After": str(wait)}
        detail = f"this token's rate limit of {headers.get('RateLimit-Limit', '?')} requests a second is used up; retry in {wait} s"
    return problem(status, title, detail, field_errors, headers=headers)


# SQLSTATE classes that mean "the database cannot serve now", not "the request or the code is wrong":
# 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, cancel),
# 58 system error (I/O).
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database is unreachable or going away (answered 503, not 500).

    The whole chain counts (the library wraps psycopg's errors; the group committer hands them
    on). A psycopg error the server did not report (no SQLSTATE) is a client-side protocol or
    connection state failure, which is what a connection cut mid-pipeline produces ("got no
    result from the query", "result not set"): it is an outage as well.
    """
    import psycopg
    from eventsourcing import persistence as p
    from psycopg_pool import PoolTimeout

    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError, p.OperationalError,
                              p.InterfaceError, PoolTimeout)):
            return True
        if isinstance(error, psycopg.Error):
            sqlstate = error.sqlstate
            if sqlstate is None or sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
                return True
        error = error.__cause__ or error.__context__
    return False


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return problem(503, "Service Unavailable", "the database is unavailable, retry shortly",
                       headers={"Retry-After": "2"})
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal Server Error", "the server could not complete the request")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    e.DomainProblem: domain_problem_handler,
    BadBody: bad_body_handler,
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}

MediaType  # noqa: B018 - re-exported for controllers


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON does not tell 3 from 3.0 (JSON Schema's `integer` accepts both): strict checking should not either."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def _nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding a NUL character, which PostgreSQL
    text and jsonb cannot store."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if "\x00" in str(k):
                return here
            found = _nul_path(v, here)
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_path(v, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None


async def reject_nul_in_query(request: Request[Any, Any, Any]) -> None:
    seen: set[str] = set()
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise e.ValidationProblem("query parameters must not contain NUL characters", field=key.replace("\x00", ""))
        if key in seen:  # no parameter is a list: which copy counts would be a guess (and a filter's guess may differ)
            raise e.ValidationProblem("must be given once", field=key)
        seen.add(key)


_INTEGER = re.compile(r"[0-9]{1,19}|-[1-9][0-9]{0,18}")  # ASCII digits; range checks follow in the handler's type


_INTEGER_QUERIES: dict[Any, frozenset[str]] = {}


def _integer_queries(handler: Any) -> frozenset[str]:
    """The handler's query parameters typed as integers (computed once per handler)."""
    names = _INTEGER_QUERIES.get(handler)
    if names is None:
        found = set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            kwarg = field.kwarg_definition
            if getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None):
                continue
            types = [t for t in (field.inner_types if field.is_optional else (field,)) if not t.is_none_type]
            if types and all(t.is_subclass_of(int) and not t.is_subclass_of(bool) for t in types):
                found.add(getattr(kwarg, "query", None) or name)
        names = _INTEGER_QUERIES[handler] = frozenset(found)
    return names


async def reject_number_spellings_in_query(request: Request[Any, Any, Any]) -> None:
    """An integer query parameter is ASCII digits: Litestar's lax conversion also reads "1e1" and "5.0"."""
    names = _integer_queries(request.route_handler)
    for key, value in request.query_params.multi_items():
        if key in names and not _INTEGER.fullmatch(value):
            raise e.ValidationProblem("must be a whole number in ASCII digits", field=key)
    _reject_null_literals(request)


_PARAMETERS: dict[Any, dict[str, Any]] = {}


def _parameters(handler: Any) -> dict[str, Any]:
    """The request parameters of the handler and of the dependencies it takes (`?tenant_id=` is
    declared by api.auth.provide_tenant, the `tenant` dependency); not the injected values.
    Computed once per handler (as `_integer_queries`): resolving them cost every request ~0.1 ms."""
    found = _PARAMETERS.get(handler)
    if found is None:
        found = _PARAMETERS[handler] = _handler_parameters(handler)
    return found


def _handler_parameters(handler: Any) -> dict[str, Any]:
    dependencies = handler.resolve_dependencies()
    own = handler.parsed_fn_signature.parameters
    found: dict[str, Any] = {}
    for name in own:
        signature = getattr(dependencies.get(name), "parsed_fn_signature", None)
        found.update(signature.parameters if signature is not None else {})
    found.update(own)
    return {k: v for k, v in found.items() if k not in RESERVED_KWARGS and k not in dependencies}


def _reject_null_literals(request: Request[Any, Any, Any]) -> None:
    """`?tenant_id=null` is not a uuid (the framework would read it as absent): refused like any other non-uuid.
    Text parameters keep "null" as the text it is."""
    handler = request.scope.get("route_handler")
    fields = _parameters(handler) if handler is not None else {}
    for key, value in request.query_params.items():
        field = fields.get(key)
        if value != "null" or field is None:
            continue
        types = [t.annotation for t in field.inner_types] if field.is_union else [field.annotation]
        if str not in types:
            raise e.ValidationProblem(f"{key} must not be null: leave it out instead", field=key)


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """Validate a JSON body strictly before the handler runs.

    Litestar converts bodies in lax mode ("100" would become 100); the contract wants a
    wrong type refused, so the body is checked once more: first that it is JSON at all
    (400), then against the handler's type in msgspec's strict mode (422).
    """
    field = request.route_handler.parsed_data_field
    if field is None or request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    body = await request.body()
    if not body.strip():
        if field.is_optional:
            return
        from litestar.exceptions import ClientException

        raise ClientException(detail="a JSON request body is required")
    try:
        raw = decode(body)
    except MalformedBody as exc:
        raise BadBody(exc.reason, exc.field) from None
    nul = _nul_path(raw)
    if nul is not None:
        raise e.ValidationProblem("text must not contain NUL characters", field=nul)
    errors = field_errors(_integral_floats_as_ints(raw), field.annotation)
    if errors:
        raise ValidationException(detail="Validation failed",
                                  extra=[{"field": f, "message": r, "source": "body"} for f, r in errors])
