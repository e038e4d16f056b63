"""Shared by the fuzz tests: leave the render queue as it was found."""
from __future__ import annotations

from typing import Any


def cancel_active_jobs(services: Any, *tenant_ids: str) -> None:
    """Cancel every queued or running job of these tenants, through the application itself: a fuzzed request
    may have locked the tenant out of HTTP, and workers elsewhere claim queued jobs across tenants."""
    from domain.application import CommandContext

    with services.read(scope="system") as conn:
        jobs = conn.execute("SELECT tenant_id, id FROM jobs WHERE tenant_id = ANY(%s::uuid[])"
                            " AND status IN ('queued', 'running')", (list(tenant_ids),)).fetchall()
    for job in jobs:
        try:
            services.app.cancel_job(CommandContext.system("tests", tenant_id=str(job["tenant_id"])), str(job["id"]))
        except Exception:  # noqa: BLE001 - best effort: a job the fuzzer broke may refuse even this
            pass
