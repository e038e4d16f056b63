"""Studio history: an aggregate's event timeline with its hash links, and time travel with a diff.

The timeline is the audit read (projections.audit.list_events on the tenant's chain) of one aggregate;
each event's link is checked with the chain verifier's own rule (eventstore.verify.ChainVerifier), anchored
on the hash of the tenant's event before it. Time travel folds the aggregate at a version or a time
(api.http.aggregate_at, what `?at=` answers in the API) and shows its row as the read model would hold
it, beside the version before.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Template

from api.http import aggregate_at, parse_at
from api.services import Services
from api.studio.web import page
from domain.assets import Asset
from domain.errors import NotFound
from domain.jobs import Job
from domain.presets import Preset
from domain.projects import Project
from eventstore.chain import GENESIS
from eventstore.verify import ChainVerifier
from projections import audit as a
from projections import history as h
from projections.assets import asset_row
from projections.history import event_view
from projections.jobs import job_row
from projections.presets import preset_row
from projections.projects import project_row, scene_rows

TIMELINE = 1000  # events shown (the API's history page)
# kind in the URL -> (domain module, aggregate class, the read model's row of it)
KINDS: dict[str, tuple[str, type, Callable[[Any], dict[str, Any]]]] = {
    "project": ("projects", Project, lambda p: {**project_row(p), "scenes": scene_rows(p)}),
    "job": ("jobs", Job, job_row),
    "asset": ("assets", Asset, asset_row),
    "preset": ("presets", Preset, preset_row),
}
At = Annotated[str | None, Parameter(max_length=64, description="A version number or an RFC 3339 time")]


def link_intact(conn: Any, tenant: UUID, row: dict[str, Any]) -> bool:
    """Whether this event's link holds: its hash covers its content and follows the tenant's previous event."""
    seq = row["tenant_seq"]
    anchor = GENESIS if seq == 1 else a.hash_at(conn, tenant, seq - 1)
    if anchor is None:
        return False
    return ChainVerifier(tenant, anchor=anchor, start_seq=seq).feed(row)


def _flat(value: Any, prefix: str = "") -> dict[str, str]:
    """A row as `field.sub[2].x -> text` pairs, so a diff names exactly what changed."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix: "—" if value is None else str(value)}


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) of each field that differs; `before` None: the first version."""
    old, new = _flat(before or {}), _flat(after)
    return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


@get("/history/{kind:str}/{aggregate_id:uuid}", sync_to_thread=True, resource="history")
def history(request: Request[Any, Any, Any], kind: str, aggregate_id: UUID, services: Services, at: At = None,
            *, tenant: UUID) -> Template:
    """The timeline of one of the tenant's aggregates, and the aggregate at a version (the slider) or a time."""
    if kind not in KINDS:
        raise NotFound("page not found")
    module, cls, row_of = KINDS[kind]
    decode = partial(a.safe_decode, services.decode_event_state)
    with services.read(tenant) as conn:
        first = h.first_topic(conn, tenant, aggregate_id)
        if first is None or not first.startswith(f"domain.{module}:"):
            raise NotFound(f"{kind} not found")
        rows = a.list_events(conn, tenant, limit=TIMELINE, aggregate_id=aggregate_id)
        events = [{**event_view(r, decode), "intact": link_intact(conn, tenant, r)} for r in rows]
    for e in events:  # shown as text (escaped by the template like every other value)
        e["data_text"] = json.dumps(e["data"], indent=1, ensure_ascii=False, sort_keys=True, default=str)
    latest = max(e["version"] for e in events)
    when = parse_at(at) if at else latest
    version_text = at if at and not isinstance(when, int) else None
    current = aggregate_at(services, cls, tenant, aggregate_id, str(when) if isinstance(when, int)
                           else at)  # type: ignore[arg-type]
    version = current.version
    previous = aggregate_at(services, cls, tenant, aggregate_id, str(version - 1)) if version > 1 else None
    changes = diff(row_of(previous) if previous is not None else None, row_of(current))
    deletion = next((e for e in reversed(events) if e["type"].endswith(".Deleted") and e["version"] <= version), None)
    deleted = bool(getattr(current, "deleted", False) or getattr(current, "deleted_at", None))
    foreign = None if tenant == request.user.tenant_id else tenant
    return page(request, "history.html", kind=kind, aggregate_id=aggregate_id, events=events, version=version,
                latest=latest, at_time=version_text, changes=changes, deleted=deleted, deletion=deletion,
                event_at=next((e for e in events if e["version"] == version), None), tenant_id=foreign,
                broken=sum(1 for e in events if not e["intact"]))
