"""Routes backed by asynchronous read models: the caller's daily usage and admin-wide stats."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from api.auth import admin_only
from api.controllers.health import max_view_lag
from api.http import errors
from api.services import Services
from projections.views import DailyUsageView, list_daily_totals, list_daily_usage, projection_states

Days = Annotated[int, Parameter(ge=1, le=90, description="How many UTC days, ending today (1–90)")]


class UsageDay(msgspec.Struct, kw_only=True):
    day: date
    projects_created: int
    scenes_created: int
    renders_succeeded: int
    renders_failed: int
    storage_bytes: int  # held at the end of the day
    storage_bytes_added: int
    storage_bytes_removed: int
    cost_estimated: float  # expected cost of the jobs queued that day
    cost_actual: float  # reported cost of the jobs that succeeded that day


class StatsDay(UsageDay, kw_only=True):
    active_tenants: int


class ViewState(msgspec.Struct, kw_only=True):
    """How current the asynchronous view is: events it has processed (position), events still to come (lag)."""

    name: str
    position: int
    lag: int
    state: Literal["building", "live"]


class UsageReport(msgspec.Struct, kw_only=True):
    tenant_id: UUID
    since: date
    until: date
    currency: str
    items: list[UsageDay]
    view: ViewState


class StatsReport(msgspec.Struct, kw_only=True):
    since: date
    until: date
    currency: str
    items: list[StatsDay]
    view: ViewState


def _window(days: int) -> tuple[date, date]:
    until = datetime.now(timezone.utc).date()
    return until - timedelta(days=days - 1), until


def _view_state(conn: Any) -> ViewState:
    (state,) = projection_states(conn, max_view_lag(), [DailyUsageView.name])
    return ViewState(name=state["name"], position=state["position"], lag=state["lag"], state=state["state"])


class UsageController(Controller):
    path = "/api/v1"
    tags = ["usage"]

    @get("/me/usage", sync_to_thread=True, responses=errors(400, 401, 422, 503))
    def my_usage(self, request: Request[Any, Any, Any], services: Services, days: Days = 7) -> UsageReport:
        """The caller's usage per UTC day, oldest first (an asynchronous view: see `view.lag`)."""
        since, until = _window(days)
        tenant = request.user.tenant_id
        with services.read(tenant) as conn:
            items = list_daily_usage(conn, tenant, since, until)
            view = _view_state(conn)
        return UsageReport(tenant_id=tenant, since=since, until=until, currency="USD",
                           items=[UsageDay(**i) for i in items], view=view)

    @get("/admin/stats", sync_to_thread=True, guards=[admin_only], responses=errors(400, 401, 403, 422, 503))
    def admin_stats(self, services: Services, days: Days = 7) -> StatsReport:
        """Every tenant's usage added up per UTC day, oldest first (admin)."""
        since, until = _window(days)
        with services.read(scope="admin") as conn:
            items = list_daily_totals(conn, since, until)
            view = _view_state(conn)
        return StatsReport(since=since, until=until, currency="USD", items=[StatsDay(**i) for i in items],
                           view=view)
