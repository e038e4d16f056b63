"""HTTP helpers shared by controllers: ETag/If-Match, cursors, `?at=`, standard error responses."""
from __future__ import annotations

import base64
import re
import struct
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any
from uuid import UUID

from litestar import Request
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from api.problems import Problem
from domain.errors import ValidationProblem
from domain.shared import ANY_VERSION


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit and int() also take "²", "٣", "１", "+1", "1_0"
_IF_MATCH = re.compile(r'(?:W/)?("?)([0-9]{1,18})\1')


def if_match(request: Request[Any, Any, Any]) -> int | None:
    """The version If-Match names, `ANY_VERSION` for `*` (RFC 9110 §13.1.1), or None when absent."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip(" \t")
    if value == "*":
        return ANY_VERSION
    m = _IF_MATCH.fullmatch(value)
    if m is None:
        raise ValidationProblem('If-Match must be a version in quotes, e.g. "3", or *', field="If-Match")
    return int(m.group(2))


def parse_at(at: str | None) -> int | datetime | None:
    """`?at=` is a version number (ASCII digits) or an RFC 3339 time."""
    if at is None:
        return None
    if _DIGITS.fullmatch(at):
        if int(at) < 1:
            raise ValidationProblem("version must be >= 1", field="at")
        return int(at)
    try:
        if not at.isascii():
            raise ValueError(at)
        ts = datetime.fromisoformat(at.replace("Z", "+00:00").replace("z", "+00:00"))  # RFC 3339 §5.6: either case
    except ValueError:
        raise ValidationProblem("at must be a version number or an RFC 3339 time", field="at") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def refuse_unsupported_at(request: Request[Any, Any, Any]) -> None:
    """`?at=` (time travel) on a route that cannot answer it (lists, history, commands) is refused
    with a 422 naming `at`, never silently ignored: the client would take today's data for the past."""
    if request.method == "OPTIONS":
        return  # a CORS preflight of a time-travel read carries its query; Litestar answers it
    if "at" in request.query_params and "at" not in request.route_handler.parsed_fn_signature.parameters:
        raise ValidationProblem("this route does not support time travel: at is only accepted when reading "
                                "one resource", field="at")


# A list cursor is the keyset of the last row: its time (microseconds since the epoch, signed) and id, 24 bytes in
# base64url. Every string of this shape is a valid bound, so the OpenAPI document can say exactly which are accepted.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{32}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MIN_US = (datetime.min.replace(tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)
_MAX_US = (datetime.max.replace(tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)


def encode_cursor(created_at: datetime, ident: Any) -> str:
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    raw = struct.pack(">q", micros) + UUID(str(ident)).bytes
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    if not _CURSOR.match(cursor):
        raise ValidationProblem("cursor is not one this API issued", field="cursor")
    raw = base64.urlsafe_b64decode(cursor)
    (micros,) = struct.unpack(">q", raw[:8])
    micros = min(max(micros, _MIN_US), _MAX_US)  # a bound beyond any time is the first or last time
    return _EPOCH + timedelta(microseconds=micros), UUID(bytes=raw[8:])


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can return."""
    descriptions = {
        400: "Malformed JSON or a malformed request", 401: "Missing, invalid, expired or revoked token",
        403: "Role too low", 404: "Not found (also another tenant's id)",
        409: "Conflicts with the current state", 412: "If-Match names a stale version",
        413: "Request body too large",
        422: "Invalid input; `errors` names each field", 429: "Quota or rate limit exceeded",
        503: "Database unavailable",
    }
    return {c: ResponseSpec(data_container=Problem, description=descriptions[c], generate_examples=False,
                            media_type="application/problem+json") for c in codes}


COMMAND_ERRORS = errors(400, 401, 404, 409, 412, 413, 422, 429, 503)
READ_ERRORS = errors(400, 401, 404, 422, 429, 503)


HISTORY_PAGE = 1000
HistoryAfter = Annotated[int | None, Parameter(
    ge=0, le=2**63 - 1, description="A position (`next_cursor` of the previous page): list the events after it")]
HistoryLimit = Annotated[int, Parameter(ge=1, le=HISTORY_PAGE, description=f"Page size (1–{HISTORY_PAGE})")]


def history_of(services: Any, tenant: UUID, aggregate_id: UUID, module: str, resource: str,
               after: int | None = None, limit: int = HISTORY_PAGE) -> Any:
    """The `/history` answer: one page of the events of one of the tenant's aggregates (of the kind
    that lives in domain.<module>) in version order, keyset-paginated by position (`after`) like
    the audit events, or the same 404 as a missing one."""
    from api.schemas import EventOut, History
    from domain.errors import NotFound
    from projections import history

    with services.read(tenant) as conn:
        first = history.first_topic(conn, tenant, aggregate_id)
        if first is None or not first.startswith(f"domain.{module}:"):
            raise NotFound(f"{resource} not found")
        after_version = 0 if after is None else history.version_at_position(conn, tenant, aggregate_id, after)
        rows = history.aggregate_history(conn, tenant, aggregate_id, limit=limit + 1, after_version=after_version)
    more = len(rows) > limit
    rows = rows[:limit]
    return History(items=[EventOut(**history.event_view(r, services.decode_event_state)) for r in rows],
                   next_cursor=str(rows[-1]["notification_id"]) if more else None)


def aggregate_at(services: Any, cls: type, tenant: UUID, aggregate_id: UUID, at: str) -> Any:
    """The tenant's aggregate as it was at a version or an RFC 3339 time, folded from its events
    (from the nearest snapshot); the same 404 as a missing one when it did not exist then."""
    from domain.errors import NotFound
    from projections import history

    when = parse_at(at)
    name = cls.__name__.lower()
    if isinstance(when, datetime):
        with services.read(tenant) as conn:
            version = history.version_at(conn, tenant, aggregate_id, when)
        if version is None:
            raise NotFound(f"{name} not found")
        when = version
    aggregate = services.app.load(cls, aggregate_id, str(tenant), version=when)
    if aggregate.version != when:
        raise NotFound(f"{name} not found")
    return aggregate
