"""Audit routes: the tenant's events, export and chain verification."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import anyio
import msgspec
from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from api.auth import command_context, tenant_roles
from api.http import errors
from api.problems import PROBLEM_JSON, Problem
from api.reads import PayloadCache
from api.schemas import EventOut
from api.services import Services
from domain.errors import NotFound, ValidationProblem
from eventstore.verify import verify_pages
from projections import audit as a
from projections.history import event_view

NDJSON = "application/x-ndjson"
# 400 replaces the framework's default entry for parameter errors (those are answered as problem JSON).
AUDIT_ERRORS = {400: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON,
                                  description="Malformed request"), **errors(401, 403, 404, 422, 503)}

Limit = Annotated[int, Parameter(ge=1, le=100, description="Page size (1–100)")]
Time = Annotated[str | None, Parameter(max_length=64, description="An RFC 3339 time (on recorded_at)")]
TenantId = Annotated[UUID | None, Parameter(
    description="Admins: the tenant to audit (recorded on that tenant's trail). Others: their own id only.")]


class AuditEventList(msgspec.Struct):
    items: list[EventOut]
    next_cursor: str | None


class ChainCheck(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The outcome of recomputing a tenant's hash chain from its rows."""

    ok: bool
    checked: int
    head_hash: str
    tenant_id: UUID
    last_seq: int
    first_bad_position: int | None = None
    reason: str | None = None


def parse_time(value: str | None, field: str) -> datetime | None:
    """An RFC 3339 time in UTC (no offset: UTC); beyond what UTC can hold it is the earliest/latest time."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationProblem(f"{field} must be an RFC 3339 time", field=field) from None
    if ts.tzinfo is None:
        return ts.replace(tzinfo=timezone.utc)
    try:
        return ts.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in year 10000 UTC
        return (datetime.max if ts.year > 1 else datetime.min).replace(tzinfo=timezone.utc)


def window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """[since, until): a window that ends before it starts holds no events (and is answered so, not refused:
    each bound is valid on its own, as the OpenAPI document says)."""
    return parse_time(since, "since"), parse_time(until, "until")


def audited_tenant(request: Request[Any, Any, Any], services: Services, tenant_id: UUID | None) -> tuple[UUID, bool]:
    """(tenant, is another tenant's): anyone's own; any existing tenant for an admin; else 404 like a missing one."""
    own: UUID = request.user.tenant_id
    if tenant_id is None or tenant_id == own:
        return own, False
    if request.user.role != "admin":
        raise NotFound("tenant not found")
    with services.read(tenant_id) as conn:  # scoped to the tenant asked for, like every read below
        if not a.tenant_exists(conn, tenant_id):
            raise NotFound("tenant not found")
    return tenant_id, True


def record_admin_read(request: Request[Any, Any, Any], services: Services, tenant: UUID, action: str,
                      details: dict[str, Any]) -> None:
    """Put the admin's read on the audited tenant's trail, with the admin as actor."""
    services.app.record_access(command_context(request), str(tenant), action=f"audit.{action}",
                               resource=f"/api/v1/audit/{action}",
                               details={k: str(v) for k, v in details.items() if v is not None})


PAYLOADS = PayloadCache()  # the opened payloads of the tenants' events, while their data keys are live (api/reads.py)


def event_page(services: Services, tenant: UUID, rows: list[dict[str, Any]], limit: int) -> AuditEventList:
    """A page of `limit` events from `limit + 1` rows (the extra one says there are more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    decode = partial(a.safe_decode, services.decode_event_state)
    return AuditEventList(items=[EventOut(**event_view(r, decode, PAYLOADS.data(services, tenant, r, decode)))
                                 for r in rows],
                          next_cursor=str(rows[-1]["notification_id"]) if more else None)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [tenant_roles]

    @get("/events", responses=AUDIT_ERRORS)
    async def list_events(
        self, request: Request[Any, Any, Any], services: Services,
        aggregate_id: UUID | None = None,
        # Named `type` (not `type_` with an alias) so a validation problem names the query parameter.
        type: Annotated[str | None, Parameter(max_length=200, pattern=r"^[A-Za-z_][\w.]*$",  # noqa: A002
                                              description="Event type, e.g. Project.Renamed")] = None,
        actor_id: Annotated[str | None, Parameter(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$",
                                                  description="A user id or a system:… actor")] = None,
        since: Time = None, until: Time = None,
        after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1, description="A position: list the events after it")] = None,
        limit: Limit = 20, tenant_id: TenantId = None,
        cursor: Annotated[str | None, Parameter(pattern=r"^[0-9]{1,18}$", description="A next_cursor of this list")] = None,
    ) -> AuditEventList:
        """The tenant's events in chain order, filtered, keyset-paginated (`cursor`, or a position: `after`)."""
        if cursor is not None:
            # Cursors are strings on every list, positions integers; this list's cursor is a position, and
            # both bound the page from below: the later one wins.
            after = max(int(cursor), after or 0)
        start, end = window(since, until)
        filters = {"aggregate_id": aggregate_id, "type_": type, "actor_id": actor_id, "since": start, "until": end}
        if tenant_id is not None and tenant_id != request.user.tenant_id:  # an admin's read of another trail: recorded
            return await anyio.to_thread.run_sync(partial(
                self._foreign_events, request, services, tenant_id, after, limit, filters,
                {"aggregate_id": aggregate_id, "type": type, "actor_id": actor_id, "since": since,
                 "until": until, "after": after, "limit": limit}))
        tenant: UUID = request.user.tenant_id
        reads = request.app.state.reads  # the event loop's reads (api/services.py AsyncReads)
        if after is None:  # the first page: one statement, one round trip
            rows = await reads.fetch(tenant, *a.list_events_query(tenant, limit=limit + 1, **filters))
        else:
            async with reads.read(tenant) as conn:
                # Any position is a bound: one of another tenant's (or none at all) answers like any other.
                after_seq = await a.aseq_of_position(conn, tenant, after)
                rows = await a.alist_events(conn, tenant, limit=limit + 1, after_seq=after_seq, **filters)
        if services.data_keys is not None and not services.data_keys.known(tenant):
            # opening sealed fields reads the tenant's key first (once a second): never on the loop
            return await anyio.to_thread.run_sync(event_page, services, tenant, rows, limit)
        return event_page(services, tenant, rows, limit)

    @staticmethod
    def _foreign_events(request: Request[Any, Any, Any], services: Services, tenant_id: UUID, after: int | None,
                        limit: int, filters: dict[str, Any], details: dict[str, Any]) -> AuditEventList:
        tenant, _ = audited_tenant(request, services, tenant_id)
        with services.read(tenant) as conn:
            after_seq = a.seq_of_position(conn, tenant, after) if after is not None else 0
            rows = a.list_events(conn, tenant, limit=limit + 1, after_seq=after_seq, **filters)
        # after the read: a trail's last page never grows by its own reading
        record_admin_read(request, services, tenant, "events", details)
        return event_page(services, tenant, rows, limit)

    @get("/export", sync_to_thread=True, media_type=NDJSON, responses={
        200: ResponseSpec(data_container=str, media_type=NDJSON, generate_examples=False,
                          description="One event a line (with state_b64, topic, hashes), then a manifest line"),
        **AUDIT_ERRORS})
    def export(self, request: Request[Any, Any, Any], services: Services, since: Time = None, until: Time = None,
               tenant_id: TenantId = None) -> Stream:
        """Stream the tenant's events as NDJSON for offline verification; the last line is a manifest."""
        tenant, foreign = audited_tenant(request, services, tenant_id)
        start, end = window(since, until)
        with services.read(tenant) as conn:
            after_seq, upto_seq = a.seq_bounds(conn, tenant, start, end)
        if foreign:  # recorded before any byte leaves; it lands after upto_seq, outside this export
            record_admin_read(request, services, tenant, "export", {"since": since, "until": until})
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return Stream(a.export_lines(partial(services.read, tenant), services.decode_event_state, tenant, after_seq=after_seq,
                                     upto_seq=upto_seq, since=start, until=end),
                      media_type=NDJSON,
                      headers={"Content-Disposition": f'attachment; filename="audit-{tenant}-{stamp}.ndjson"'})

    @get("/verify", sync_to_thread=True, responses=AUDIT_ERRORS)
    def verify(self, request: Request[Any, Any, Any], services: Services, tenant_id: TenantId = None) -> ChainCheck:
        """Recompute the tenant's hash chain from its rows; report the first broken or missing link."""
        tenant, foreign = audited_tenant(request, services, tenant_id)
        report = verify_pages(a.iter_chain(partial(services.read, tenant), tenant), tenant)
        if foreign:
            record_admin_read(request, services, tenant, "verify", {})
        return ChainCheck(ok=report.ok, checked=report.checked, head_hash=report.head_hash, tenant_id=tenant,
                          last_seq=report.last_seq, first_bad_position=report.first_bad_position,
                          reason=report.reason)
