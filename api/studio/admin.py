"""Studio pages over the audit trail (every tenant its own; an admin any) and, for admins, the read
models (status, lag, rebuild, verify, live progress) and the render queue.

The audit page runs what `GET /api/v1/audit/verify` and `/export` run (api/controllers/audit.py:
`audited_tenant`, `verify_pages`, `export_lines`), and puts an admin's look at another tenant on that
tenant's trail the same way. Rebuilds start through `start_in_background` and show the progress the
admin route shows (api/controllers/admin_projections.py `projection_list`).
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from functools import partial
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect, Stream, Template

from api.auth import command_context
from api.controllers.admin_projections import projection_list
from api.controllers.audit import NDJSON, audited_tenant
from api.services import Services
from api.studio.web import PATH, SECURITY_HEADERS, check_csrf, page, studio_admin
from domain.errors import NotFound, ValidationProblem
from eventstore import checkpoint as cp
from eventstore.verify import verify_pages
from projections import audit as a
from projections.inline import BY_NAME
from projections.rebuild import RUNNING, RebuildRunning, database_key, start_in_background, verify
from projections.stats import oldest_queued, queue_stats, running_leases


def _tenant_field(form: dict[str, str]) -> UUID | None:
    raw = form.get("tenant_id") or None
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise ValidationProblem("tenant_id must be a UUID", field="tenant_id") from None


def _record(request: Request[Any, Any, Any], services: Services, tenant: UUID, action: str) -> None:
    """An admin's studio look at another tenant's trail, on that trail (as record_admin_read does for the API)."""
    services.app.record_access(command_context(request), str(tenant), action=f"audit.{action}",
                               resource=f"{PATH}/audit", details={"path": request.url.path})


def last_checkpoint(services: Services, tenant: UUID) -> dict[str, Any] | None:
    """The newest signed checkpoint (`avm audit checkpoint`) and how this tenant's chain compares with it."""
    folder = cp.checkpoints_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return None
    path = files[-1]
    try:
        signed = cp.read(path, cp.trusted_public_key())
    except cp.CheckpointProblem as exc:
        return {"file": path.name, "problem": str(exc)}
    head = signed.heads.get(str(tenant))
    out: dict[str, Any] = {"file": path.name, "created_at": signed.created_at, "key": cp.fingerprint(signed.public_key),
                           "trusted": signed.key_trusted, "head": head}
    if head is not None:
        with services.read(tenant) as conn:
            now = a.get_head(conn, tenant)
            (finding,) = cp.compare(signed, partial(a.hash_at, conn), lambda _: now["tenant_seq"] if now else 0,
                                    tenants=[str(tenant)])
        out["finding"] = finding
    return out


def _audit_page(request: Request[Any, Any, Any], services: Services, tenant: UUID, **extra: Any) -> Template:
    with services.read(tenant) as conn:
        head = a.get_head(conn, tenant)
    return page(request, "audit.html", head=head, checkpoint=last_checkpoint(services, tenant),
                tenant_id=None if tenant == request.user.tenant_id else tenant, **extra)


@get("/audit", sync_to_thread=True)
def audit(request: Request[Any, Any, Any], services: Services, tenant_id: UUID | None = None) -> Template:
    """The tenant's trail: its head, the last signed checkpoint, and the verify and export forms."""
    tenant, foreign = audited_tenant(request, services, tenant_id)
    if foreign:
        _record(request, services, tenant, "head")
    return _audit_page(request, services, tenant)


@post("/audit/verify", status_code=200)
async def audit_verify(request: Request[Any, Any, Any], services: Services) -> Template:
    """Recompute the tenant's chain (as `GET /api/v1/audit/verify`) and show the outcome."""
    import anyio

    form = await check_csrf(request)

    def run() -> Template:
        tenant, foreign = audited_tenant(request, services, _tenant_field(form))
        report = verify_pages(a.iter_chain(partial(services.read, tenant), tenant), tenant)
        if foreign:
            _record(request, services, tenant, "verify")
        return _audit_page(request, services, tenant, report=report)

    return await anyio.to_thread.run_sync(run)


@post("/audit/export", status_code=200)
async def audit_export(request: Request[Any, Any, Any], services: Services) -> Stream:
    """Download the tenant's trail as NDJSON (as `GET /api/v1/audit/export`), manifest last."""
    import anyio

    form = await check_csrf(request)

    def bounds() -> tuple[UUID, int, int]:
        tenant, foreign = audited_tenant(request, services, _tenant_field(form))
        with services.read(tenant) as conn:
            after_seq, upto_seq = a.seq_bounds(conn, tenant)
        if foreign:
            _record(request, services, tenant, "export")
        return tenant, after_seq, upto_seq

    tenant, after_seq, upto_seq = await anyio.to_thread.run_sync(bounds)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Stream(a.export_lines(partial(services.read, tenant), services.decode_event_state, tenant,
                                 after_seq=after_seq, upto_seq=upto_seq),
                  media_type=NDJSON, headers={**SECURITY_HEADERS,
                                              "Content-Disposition": f'attachment; filename="audit-{tenant}-{stamp}.ndjson"'})


# -- read models (admin) ---------------------------------------------------------------------------------
# The verifies started from the studio in this process: (database, name) -> progress, outcome.
VERIFIES: dict[tuple[str, str], dict[str, Any]] = {}
_VERIFY_LOCK = threading.Lock()


def start_verify(services: Services, name: str) -> None:
    key = (database_key(services.db.url), name)
    with _VERIFY_LOCK:
        job = VERIFIES.get(key)
        if job is not None and job["result"] is None and job["error"] is None:
            raise RebuildRunning(f"a verify of {name} is already running")
        job = VERIFIES[key] = {"progress": None, "result": None, "error": None}

    def hook(p: Any) -> None:
        job["progress"] = p

    def run() -> None:
        try:
            job["result"] = verify(services.db.url, services.app.mapper, [name], progress=hook)
        except Exception as exc:  # noqa: BLE001 - shown on the page as the verify's outcome
            job["error"] = str(exc) or type(exc).__name__

    threading.Thread(target=run, name=f"avm-studio-verify-{name}", daemon=True).start()


def _projection(services: Services, name: str) -> dict[str, Any]:
    listed = projection_list(services)
    item = next((i for i in listed.items if i.name == name), None)
    if item is None:
        raise NotFound("projection not found")
    return {"p": item, "head": listed.head, "verify": VERIFIES.get((database_key(services.db.url), name)),
            "last": RUNNING.last(database_key(services.db.url), name)}


@get("/projections", sync_to_thread=True, guards=[studio_admin])
def projections(request: Request[Any, Any, Any], services: Services) -> Template:
    listed = projection_list(services)
    return page(request, "projections.html", head=listed.head, items=listed.items)


@get("/projections/{name:str}", sync_to_thread=True, guards=[studio_admin])
def projection(request: Request[Any, Any, Any], name: str, services: Services) -> Template:
    return page(request, "projection.html", **_projection(services, name))


@get("/projections/{name:str}/progress", sync_to_thread=True, guards=[studio_admin])
def projection_progress(request: Request[Any, Any, Any], name: str, services: Services) -> Template:
    """The progress panel alone: what the page polls (htmx) while a rebuild or a verify runs."""
    return page(request, "progress.html", **_projection(services, name))


@post("/projections/{name:str}/{action:str}", status_code=303, guards=[studio_admin])
async def projection_action(request: Request[Any, Any, Any], name: str, action: str,
                            services: Services) -> Response[Any]:
    """Start a blue/green rebuild (inline read models) or a verify, then watch it on the projection's page."""
    import anyio

    form = await check_csrf(request)
    if name not in BY_NAME or action not in ("rebuild", "verify"):
        raise NotFound("projection not found")
    tenant = _tenant_field(form)
    if action == "rebuild":
        await anyio.to_thread.run_sync(partial(start_in_background, services.db.url, services.app.mapper, [name],
                                               tenant_id=tenant, wait=5.0))
    else:
        start_verify(services, name)
    return Redirect(f"{PATH}/projections/{name}", status_code=303, headers=SECURITY_HEADERS)


@get("/queue", sync_to_thread=True, guards=[studio_admin])
def queue(request: Request[Any, Any, Any], services: Services) -> Template:
    """Jobs per status, the oldest queued job, and the running leases (every tenant), as /api/v1/admin/stats."""
    with services.read(scope="admin") as conn:
        stats = queue_stats(conn)
        oldest = oldest_queued(conn)
        leases = running_leases(conn)
    return page(request, "queue.html", stats=stats, oldest=oldest, leases=leases)


@get("/queue/counts", sync_to_thread=True, guards=[studio_admin])
def queue_counts(request: Request[Any, Any, Any], services: Services) -> Template:
    with services.read(scope="admin") as conn:
        stats = queue_stats(conn)
    return page(request, "queue_counts.html", stats=stats)
