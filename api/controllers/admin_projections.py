"""Admin routes over the read models: rebuild one while the service serves, and watch progress."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import Parameter

from api.auth import admin_only
from api.controllers.health import max_view_lag
from api.http import errors
from api.services import Services
from domain.errors import NotFound
from eventstore.replay import log_head
from projections.inline import BY_NAME
from projections.rebuild import RUNNING, database_key, rebuilds_elsewhere, start_in_background
from projections.views import projection_states


class RebuildProgressOut(msgspec.Struct, kw_only=True):
    """A running rebuild: phase (starting, build, index, catch-up, swap), events folded of the total."""

    phase: str
    events_done: int
    events_total: int
    events_per_second: float
    eta_seconds: float | None
    started_at: datetime
    tenant_id: UUID | None = None


class LastRebuildOut(msgspec.Struct, kw_only=True):
    ok: bool
    finished_at: datetime
    tenant_id: UUID | None = None
    events: int | None = None  # the log position the rebuilt rows describe
    seconds: float | None = None
    locked_seconds: float | None = None  # how long writers waited for the swap
    error: str | None = None


class ProjectionOut(msgspec.Struct, kw_only=True):
    name: str
    kind: Literal["inline", "async"]
    tables: list[str]
    position: int  # tracking: the last event the read model reflects
    lag: int  # events after the position
    state: Literal["live", "building"]
    rebuildable: bool
    progress: RebuildProgressOut | None = None  # this process's running rebuild; None if none (or elsewhere)
    last_rebuild: LastRebuildOut | None = None  # how this process's last rebuild ended


class ProjectionList(msgspec.Struct, kw_only=True):
    head: int
    items: list[ProjectionOut]


def _progress(p: Any) -> RebuildProgressOut:
    v = p.view()
    return RebuildProgressOut(phase=v["phase"], events_done=v["events_done"], events_total=v["events_total"],
                              events_per_second=v["events_per_second"], eta_seconds=v["eta_seconds"],
                              started_at=v["started_at"], tenant_id=v["tenant_id"])


def projection_list(services: Services) -> ProjectionList:
    """Every projection's kind, position, lag and state, with this process's running and last rebuild
    (the admin route and the studio's projections page)."""
    database = database_key(services.db.url)
    with services.read(scope="admin") as conn:
        head = log_head(conn)
        states = projection_states(conn, max_view_lag())
        elsewhere = rebuilds_elsewhere(conn)
    items = []
    for s in states:
        inline = BY_NAME.get(s["name"]) if s["kind"] == "inline" else None
        running = RUNNING.running(database, s["name"]) if inline else None
        last = RUNNING.last(database, s["name"]) if inline else None
        building = running is not None or s["name"] in elsewhere or s["state"] == "building"
        items.append(ProjectionOut(
            name=s["name"], kind=s["kind"], tables=list(inline.tables) if inline else [s["name"]],
            position=s["position"], lag=s["lag"], state="building" if building else "live",
            rebuildable=inline is not None, progress=_progress(running) if running else None,
            last_rebuild=LastRebuildOut(**last) if last else None))
    return ProjectionList(head=head, items=items)


class AdminProjectionController(Controller):
    path = "/api/v1/admin/projections"
    tags = ["admin"]
    guards = [admin_only]

    @get("/", sync_to_thread=True, responses=errors(401, 403, 503))
    def list_projections(self, services: Services) -> ProjectionList:
        """Every projection: kind, tracking position, lag, state, and the progress of a running rebuild (admin)."""
        return projection_list(services)

    @post("/{name:str}/rebuild", status_code=202, sync_to_thread=True,
          responses=errors(400, 401, 403, 404, 409, 422, 503))
    def rebuild_projection(
        self, name: str, services: Services,
        tenant_id: Annotated[UUID | None, Parameter(description="Rebuild only this tenant's rows")] = None,
    ) -> Response[ProjectionOut]:
        """Start a blue/green rebuild of an inline projection in the background (admin); 409 if one is running."""
        if name not in BY_NAME:
            raise NotFound("projection not found")
        # DDL (the swap) needs the tables' owner: the database URL's user, not the app role's pool.
        progress = start_in_background(services.db.url, services.app.mapper, [name], tenant_id=tenant_id)
        projection = BY_NAME[name]
        out = ProjectionOut(name=name, kind="inline", tables=list(projection.tables), position=0, lag=0,
                            state="building", rebuildable=True, progress=_progress(progress) if progress else None)
        with services.read(scope="admin") as conn:
            (state,) = projection_states(conn, max_view_lag(), [name])
        out.position, out.lag = state["position"], state["lag"]
        return Response(out, status_code=202, headers={"Location": self.path})
