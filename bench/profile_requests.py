"""Where one kind of request spends its CPU, in-process and in every thread (yappi), comparable
across builds: run it from the root of a worktree with that worktree's Python, e.g.

    cd /work/wt/old && .venv/bin/python /work/wt/new/bench/profile_requests.py --out /tmp/old.json update

The app is built as the tests build it (`create_app(services)` under Litestar's TestClient, one
embedded PostgreSQL in a temp directory, a fresh migrated database), so the HTTP server itself is
not in the profile. Each scenario is warmed up, then `-n` requests run under yappi (CPU clock);
the report has the CPU per request of every function (own and cumulative time, calls per request),
and the statements each request sent (the psycopg cursor's `execute` calls, per request).
Needs `pip install yappi` in that worktree's virtualenv (a measuring tool, not a dependency);
`--plain` runs without it and reports only the process's CPU per request (client included).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())  # the worktree being measured, not this file's
# as the suite runs avm: the limiters on, never reached (the default 200 a second would be)
os.environ.setdefault("AVM_RATE_LIMIT", "1000000")
os.environ.setdefault("AVM_RATE_LIMIT_PREMIUM", "1000000")

STORY = ("The lighthouse keeper of Keelung had not seen a ship in forty days, and the harbour was silent. "
         "Every evening she climbed the hundred and twelve steps, trimmed the wick, and watched the grey water. ") * 8


def setup(tmp: Path) -> tuple[Any, Any]:
    import psycopg
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore import migrate
    from eventstore.database import Database, start_embedded

    server = start_embedded(tmp / "pg")
    admin_url = server.get_uri("postgres")  # type: ignore[attr-defined]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE prof")
    url = server.get_uri("prof")  # type: ignore[attr-defined]
    migrate.upgrade(url)
    services = Services(Database(url=url, embedded=False), pool_size=4)
    client = TestClient(create_app(services), raise_server_exceptions=True)
    client.__enter__()
    return services, client


def user(services: Any, role: str) -> dict[str, str]:
    from domain.application import CommandContext

    u, token = services.app.register_user(CommandContext.system("profile"), email=f"p-{uuid.uuid4().hex[:10]}@example.com",
                                          name="Profile", role=role)
    return {"Authorization": f"Bearer {token}"}


def ok(r: Any) -> Any:
    assert r.status_code < 300, (r.status_code, r.text[:300])
    return r.json() if r.content else None


def scenario(name: str, services: Any, client: Any, count: int) -> Any:
    """A function of i (0 .. count-1) sending one request of the kind `name`."""
    admin = user(services, "admin")
    if name == "create":
        return lambda i: ok(client.post("/api/v1/projects", json={"title": f"c {i}"}, headers=admin))
    if name == "create16":
        tenants = [user(services, "admin") for _ in range(16)]
        return lambda i: ok(client.post("/api/v1/projects", json={"title": f"c {i}"}, headers=tenants[i % 16]))
    if name == "story":  # PUT .../story on a fresh draft project each time (the suite's set_story)
        drafts = [ok(client.post("/api/v1/projects", json={"title": f"s {i}"}, headers=admin))["id"] for i in range(count)]
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from suite_scenarios import make_story  # the suite's ~4,000-character, 20-scene story

        story = make_story()
        return lambda i: ok(client.put(f"/api/v1/projects/{drafts[i]}/story", json={"text": story}, headers=admin))
    pool = [ok(client.post("/api/v1/projects", json={"title": f"p {i}"}, headers=admin))["id"] for i in range(64)]
    if name == "update":
        return lambda i: ok(client.patch(f"/api/v1/projects/{pool[i % 64]}", json={"title": f"r {i}"}, headers=admin))
    if name == "get":
        return lambda i: ok(client.get(f"/api/v1/projects/{pool[i % 64]}", headers=admin))
    if name == "list":
        return lambda i: ok(client.get("/api/v1/projects", headers=admin))
    if name == "audit":
        return lambda i: ok(client.get("/api/v1/audit/events?limit=50", headers=admin))
    if name == "at":  # the suite's project_at_version: a 10,000-event stream, versions in a fixed pseudo-random order
        from domain.application import CommandContext
        from domain.projects import Project

        owner, token = services.app.register_user(CommandContext.system("profile"), name="Stream", role="admin",
                                                  email=f"p-{uuid.uuid4().hex[:10]}@example.com")
        tenant = str(owner.id)
        ctx = CommandContext(tenant_id=tenant, actor_id=tenant, role="admin", correlation_id=f"prof-{uuid.uuid4()}")
        project = Project.create(tenant_id=tenant, title="stream v1")
        services.app._save(ctx, project)
        while project.version < 10_000:
            project = services.app.load(Project, str(project.id), tenant)
            for _ in range(min(250, 10_000 - project.version)):
                project.rename(f"stream v{project.version + 1}")
            services.app._save(ctx, project)
        stream = {"Authorization": f"Bearer {token}"}
        return lambda i: ok(client.get(f"/api/v1/projects/{project.id}?at={1 + (i * 7919) % 10_000}", headers=stream))
    if name in ("queue", "claim", "complete", "job_cycle"):
        worker = user(services, "worker")
        ready = []
        for i in range(count):
            pid = ok(client.post("/api/v1/projects", json={"title": f"j {i}"}, headers=admin))["id"]
            ok(client.put(f"/api/v1/projects/{pid}/story", json={"text": STORY}, headers=admin))
            ready.append(pid)

        def cycle(i: int) -> None:
            if name in ("queue", "job_cycle"):
                ok(client.post(f"/api/v1/projects/{ready[i]}/jobs", json={}, headers=admin))
            if name in ("claim", "job_cycle"):
                job = ok(client.post("/api/v1/jobs/claim", headers=worker))
                ok(client.post(f"/api/v1/jobs/{job['id']}/complete", json={"cost_actual": 0.5}, headers=worker))
        return cycle
    raise SystemExit(f"unknown scenario {name}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="+", help="create, create16, update, get, list, audit, at, story, queue, claim, job_cycle")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plain", action="store_true",
                    help="no profiler: the process's CPU per request only (app, client and committer together)")
    args = ap.parse_args()
    import logging

    import psycopg

    if not args.plain:
        import yappi

    logging.getLogger("httpx").setLevel(logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="avm-prof-"))
    services, client = setup(tmp)
    statements: list[str] = []
    original = psycopg.Cursor.execute

    def counting(self: Any, query: Any, *a: Any, **k: Any) -> Any:
        statements.append(str(query)[:140] if isinstance(query, str) else type(query).__name__)
        return original(self, query, *a, **k)

    psycopg.Cursor.execute = counting  # type: ignore[method-assign]
    original_async = psycopg.AsyncCursor.execute

    async def counting_async(self: Any, query: Any, *a: Any, **k: Any) -> Any:
        statements.append(str(query)[:140] if isinstance(query, str) else type(query).__name__)
        return await original_async(self, query, *a, **k)

    psycopg.AsyncCursor.execute = counting_async  # type: ignore[method-assign]
    report: dict[str, Any] = {"cwd": os.getcwd(), "n": args.n}
    for name in args.scenarios:
        send = scenario(name, services, client, args.warmup + args.n)
        for i in range(args.warmup):
            send(i)
        time.sleep(0.5)  # let the in-process projector finish the warm-up
        statements.clear()
        if args.plain:
            t0 = time.process_time()
            for i in range(args.warmup, args.warmup + args.n):
                send(i)
            report[name] = {"process_cpu_ms_per_req": round(1000 * (time.process_time() - t0) / args.n, 3),
                            "statements_per_req": round(len(statements) / args.n, 2)}
            print(f"{name}: {report[name]}", flush=True)
            continue
        yappi.clear_stats()
        yappi.set_clock_type("cpu")
        t0 = time.process_time()
        yappi.start(builtins=False, profile_threads=True)
        for i in range(args.warmup, args.warmup + args.n):
            send(i)
        yappi.stop()
        cpu = time.process_time() - t0
        stats = yappi.get_func_stats()
        funcs = sorted(((f"{s.module.split('site-packages/')[-1].replace(os.getcwd() + '/', '')}:{s.lineno} {s.name}",
                         round(1e6 * s.tsub / args.n, 1), round(1e6 * s.ttot / args.n, 1), round(s.ncall / args.n, 2))
                        for s in stats), key=lambda f: -f[1])
        counts: dict[str, int] = {}
        for s in statements:
            counts[s] = counts.get(s, 0) + 1
        report[name] = {"process_cpu_ms_per_req_profiled": round(1000 * cpu / args.n, 3),
                        "profiled_us_per_req": round(sum(f[1] for f in funcs), 1),
                        "statements_per_req": round(len(statements) / args.n, 2),
                        "statements": sorted(((q, round(c / args.n, 2)) for q, c in counts.items()), key=lambda x: -x[1]),
                        "functions": funcs[:400]}
        print(f"{name}: {report[name]['profiled_us_per_req']} us/req profiled,"
              f" {report[name]['statements_per_req']} statements/req", flush=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    client.__exit__(None, None, None)
    services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
