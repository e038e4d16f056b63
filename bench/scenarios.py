"""Request factories and flows for bench/suite.py, run inside bench/loadgen.py (a separate process).

The suite writes a JSON spec (tokens, project ids, the story text, ...) to a private temp file and
passes its path in AVM_BENCH_SPEC; `n` is the loadgen's sequence number, unique across connections
and continued from the warm-up into the measured run, so pools are walked in order without repeats.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from loadgen import Request, Session

API = "/api/v1"


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    with open(os.environ["AVM_BENCH_SPEC"]) as f:
        return json.load(f)


@lru_cache(maxsize=None)
def _headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {spec()['tokens'][role]}", "Content-Type": "application/json"}


@lru_cache(maxsize=None)
def _pool(name: str) -> list[str]:
    return list(spec()["pools"][name])


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- single-request scenarios (loadgen --factory) -------------------------------------------------
def hello(n: int) -> Request:
    return Request("GET", "/hello")


def read_row(n: int) -> Request:
    """The read yardstick (bench/read_row_app.py): one row by primary key, no auth."""
    pool = _pool("read_row")
    return Request("GET", f"/rows/{pool[n % len(pool)]}")


def reference_append(n: int) -> Request:
    return Request("POST", "/events", {"Content-Type": "application/json"}, _body({"title": f"bench {n}"}))


def create_project(n: int) -> Request:
    """As a tenant of its own (a fresh admin, created by the suite just before the measurement)."""
    return Request("POST", f"{API}/projects", _headers("create"), _body({"title": f"bench {n}"}))


def create_project_tenants(n: int) -> Request:
    """As 16 tenants in turn (16 fresh admins): no tenant's quota counter serialises the load."""
    return Request("POST", f"{API}/projects", _headers(f"tenants16_{n % 16}"), _body({"title": f"bench {n}"}))


def update_project(n: int) -> Request:
    pool = _pool("update")
    return Request("PATCH", f"{API}/projects/{pool[n % len(pool)]}", _headers("admin"),
                   _body({"title": f"renamed {n}"}))


def set_story(n: int) -> Request:
    pool = _pool("story")
    return Request("PUT", f"{API}/projects/{pool[n % len(pool)]}/story", _headers("admin"),
                   _body({"text": spec()["story"]}))


def get_project(n: int) -> Request:
    pool = _pool("read")
    return Request("GET", f"{API}/projects/{pool[n % len(pool)]}", _headers("admin"))


def list_projects(n: int) -> Request:
    return Request("GET", f"{API}/projects", _headers("admin"))


def audit_events(n: int) -> Request:
    return Request("GET", f"{API}/audit/events?limit=50", _headers("admin"))


def audit_events_preloaded_tenant(n: int) -> Request:
    """The audit page of one of the big store's preloaded tenants, with that tenant's own token."""
    return Request("GET", f"{API}/audit/events?limit=50", _headers("preloaded"))


def project_at_version(n: int) -> Request:
    """GET ?at=<v> on the long stream; v walks 1..events in a fixed pseudo-random order
    (7919 is prime), so every distance from the nearest snapshot is visited."""
    s = spec()["stream"]
    version = 1 + (n * 7919) % s["events"]
    return Request("GET", f"{API}/projects/{s['project_id']}?at={version}", _headers("stream"))


# -- flows (loadgen --flow) -----------------------------------------------------------------------
async def job_flow(session: Session, n: int) -> bool | None:
    """Queue a render of a ready project (admin), claim the next job (worker), complete it.
    Each iteration uses its own ready project; the suite sizes the pool from the warm-up rate."""
    pool = _pool("jobs")
    if n >= len(pool):
        return False  # pool used up: stop this connection rather than send requests that must fail
    queued = await session.request(Request("POST", f"{API}/projects/{pool[n]}/jobs", _headers("admin"), b"{}"),
                                   "queue")
    if queued is None or queued.status != 201:
        return None
    claimed = await session.request(Request("POST", f"{API}/jobs/claim", _headers("worker"), b""), "claim",
                                    want_body=True)
    if claimed is None or claimed.status != 200:
        return None  # 204: another connection took the last queued job; ours stays queued for the next claim
    job_id = claimed.json()["id"]
    await session.request(Request("POST", f"{API}/jobs/{job_id}/complete", _headers("worker"),
                                  _body({"cost_actual": 0.5})), "complete")
    return None


async def soak_flow(session: Session, n: int) -> None:
    """Sustained mixed load: create a project, read it back, list the newest page."""
    created = await session.request(Request("POST", f"{API}/projects", _headers("admin"),
                                            _body({"title": f"soak {n}"})), "create", want_body=True)
    if created is not None and created.status == 201:
        await session.request(Request("GET", f"{API}/projects/{created.json()['id']}", _headers("admin")), "get")
    await session.request(Request("GET", f"{API}/projects", _headers("admin")), "list")
