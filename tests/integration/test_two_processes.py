"""Issue 17 item 1: two `avm serve` processes on different ports against one PostgreSQL database are
correct together.

Three workloads run at the same time, every one of them split over both processes:
- one project PATCHed from 8 threads, half with If-Match: every 2xx is an event of its own at the version
  it answered (no lost update), every other answer a 412 (stale If-Match) or 409 (retries exhausted);
- 12 queued jobs claimed by 6 workers until the queue answers 204: each job claimed exactly once;
- 4 `user` tenants each sending 10 creates at once: exactly their daily quota (3) is created, the rest 429;
- 6 creates each sent 4 times at once with one Idempotency-Key: one project per key, every answer the same;
- one email registered 6 times at once: one user, the others 409; one ready project queued 6 times at once:
  one job, the others 409 (a project has one active job).
Afterwards every tenant's hash chain verifies (`avm audit verify`, and GET /audit/verify through both
processes), and the read models equal a rebuild from the log (`avm projections verify`).

Each process keeps its own caches (aggregates, tokens) and its own in-process locks; only the
database is shared, so this is the test that the database alone serialises what must be serialised.
The preset tests below are the one bug these tests found (docs/decisions/i17-scale.md): a check on an
aggregate the command does not write, read from a stale cache or racing a concurrent write.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import support
from tests.live import AVM, LiveServer, live_server

V1 = "/api/v1"
STORY = ("The fox crossed the frozen river at dawn, looking for the lighthouse keeper's lost compass. "
         "Snow fell on the old pier while the gulls argued about bread. ") * 3
PATCH_THREADS, PATCHES_EACH = 8, 12
JOB_TENANTS, JOBS_EACH, WORKERS = 3, 4, 6
QUOTA_TENANTS, CREATES_EACH, USER_DAILY_PROJECTS = 4, 10, 3
KEYS, SENDS_PER_KEY = 6, 4
SAME_EMAIL_SENDS, QUEUE_SENDS = 6, 6


class Pair:
    """Two servers on one database, an admin token, and new users made through the admin API."""

    def __init__(self, a: LiveServer, b: LiveServer, admin: str) -> None:
        self.servers, self.admin = (a, b), admin

    def url(self, i: int) -> str:
        return self.servers[i % 2].url

    def new_user(self, role: str) -> tuple[str, str]:
        """(user id, token) of a new user."""
        r = httpx.post(f"{self.url(0)}{V1}/admin/users", headers=auth(self.admin), timeout=30,
                       json={"email": f"p-{uuid.uuid4().hex[:12]}@example.com", "role": role})
        assert r.status_code == 201, r.text
        return r.json()["user"]["id"], r.json()["token"]


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    database = support.fresh_database("avm_pair")
    try:
        with ExitStack() as stack:
            # Both start at once (half the wait), each on its own port and data directory, one database.
            starting = [live_server(tmp_path_factory.mktemp(f"serve-{n}"), database=database) for n in "ab"]
            with ThreadPoolExecutor(2) as pool:
                started = [pool.submit(cm.__enter__) for cm in starting]
            for cm, future in zip(starting, started):
                if future.exception() is None:
                    stack.push(cm)  # stopped on the way out, even when the other failed to start
            a, b = (future.result() for future in started)
            assert a.url != b.url and a.database_url == b.database_url
            yield Pair(a, b, a.new_token("admin", f"admin-{uuid.uuid4().hex[:8]}@example.com"))
    finally:
        support.drop_database(database[0])


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run every callable on its own thread, all released at once by a barrier; their results."""
    barrier = threading.Barrier(len(jobs))

    def go(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(go, jobs))


def ready_project(pair: Pair, token: str, server: int = 0) -> str:
    """A new project with a story (ready to render), made through one of the servers."""
    with httpx.Client(base_url=pair.url(server), headers=auth(token), timeout=30) as http:
        p = http.post(f"{V1}/projects", json={"title": "to render"})
        assert p.status_code == 201, p.text
        story = http.put(f"{V1}/projects/{p.json()['id']}/story", json={"text": STORY})
        assert story.status_code == 200, story.text
        return str(p.json()["id"])


# -- the workloads -----------------------------------------------------------------------------
def patch_loop(pair: Pair, token: str, project_id: str, thread: int) -> list[tuple[int, str, int | None]]:
    """Read the project, then PATCH its description with If-Match; (status, description, version answered)."""
    out = []
    with httpx.Client(base_url=pair.url(thread), headers=auth(token), timeout=30) as http:
        for i in range(PATCHES_EACH):
            seen = http.get(f"{V1}/projects/{project_id}")
            assert seen.status_code == 200, seen.text
            description = f"thread {thread} patch {i}"
            # Odd threads send no If-Match: last writer wins, but every write must still be an event of its own.
            pinned = {"If-Match": seen.headers["ETag"]} if thread % 2 == 0 else {}
            r = http.patch(f"{V1}/projects/{project_id}", json={"description": description}, headers=pinned)
            out.append((r.status_code, description, int(r.headers["ETag"].strip('"')) if r.is_success else None))
    return out


def claim_loop(pair: Pair, token: str, thread: int) -> list[tuple[int, str | None, str | None]]:
    """Claim until the queue answers 204; (status, job id, lease id) of every answer."""
    out: list[tuple[int, str | None, str | None]] = []
    with httpx.Client(base_url=pair.url(thread), headers=auth(token), timeout=30) as http:
        while True:
            r = http.post(f"{V1}/jobs/claim")
            body = r.json() if r.status_code == 200 else {}
            out.append((r.status_code, body.get("id"), (body.get("lease") or {}).get("id")))
            if r.status_code != 200:
                return out


def create_once(pair: Pair, token: str, thread: int, title: str, key: str | None = None) -> tuple[int, str | None]:
    headers = auth(token, **({"Idempotency-Key": key} if key else {}))
    r = httpx.post(f"{pair.url(thread)}{V1}/projects", json={"title": title}, headers=headers, timeout=30)
    return r.status_code, r.json().get("id") if r.status_code == 201 else None


# -- the test --------------------------------------------------------------------------------------
def test_two_serve_processes_on_one_database_lose_no_update_claim_once_and_keep_quotas(pair: Pair) -> None:
    failures: list[str] = []
    t0 = time.monotonic()
    # Set-up, through both processes: the PATCHed project, the queued jobs, the quota tenants, the workers.
    owner_id, owner = pair.new_user("premium")
    r = httpx.post(f"{pair.url(1)}{V1}/projects", json={"title": "hammered"}, headers=auth(owner), timeout=30)
    assert r.status_code == 201, r.text
    project_id, first_version = r.json()["id"], int(r.headers["ETag"].strip('"'))
    queued: set[str] = set()
    job_tenants = [pair.new_user("premium") for _ in range(JOB_TENANTS)]
    for t, (_, token) in enumerate(job_tenants):
        for j in range(JOBS_EACH):
            project = ready_project(pair, token, t + j)
            q = httpx.post(f"{pair.url(t + j + 1)}{V1}/projects/{project}/jobs", headers=auth(token), timeout=30)
            assert q.status_code == 201, q.text
            queued.add(q.json()["id"])
    workers = [pair.new_user("worker")[1] for _ in range(WORKERS)]
    quota_tenants = [pair.new_user("user") for _ in range(QUOTA_TENANTS)]

    jobs: list[Callable[[], Any]] = []
    jobs += [lambda t=t: ("patch", patch_loop(pair, owner, project_id, t)) for t in range(PATCH_THREADS)]
    jobs += [lambda w=w, token=token: ("claim", claim_loop(pair, token, w)) for w, token in enumerate(workers)]
    jobs += [lambda q=q, i=i, token=token: ("create", (q, create_once(pair, token, i, f"quota {q}-{i}")))
             for q, (_, token) in enumerate(quota_tenants) for i in range(CREATES_EACH)]
    _, keyed = pair.new_user("premium")
    keys = [f"twin-{uuid.uuid4().hex}" for _ in range(KEYS)]
    jobs += [lambda k=k, i=i: ("keyed", (k, create_once(pair, keyed, i, f"keyed {k}", key=k)))
             for k in keys for i in range(SENDS_PER_KEY)]
    email = f"same-{uuid.uuid4().hex[:12]}@example.com"
    jobs += [lambda i=i: ("email", httpx.post(f"{pair.url(i)}{V1}/admin/users", headers=auth(pair.admin),
                                              json={"email": email}, timeout=30).status_code)
             for i in range(SAME_EMAIL_SENDS)]
    _, queuer = pair.new_user("premium")
    ready = ready_project(pair, queuer)
    jobs += [lambda i=i: ("queue", httpx.post(f"{pair.url(i)}{V1}/projects/{ready}/jobs", headers=auth(queuer),
                                              timeout=30)) for i in range(QUEUE_SENDS)]
    began = time.monotonic()
    print(f"set-up {began - t0:.1f}s")
    results = run_together(jobs)
    took = time.monotonic() - began
    patches = [x for kind, rs in results if kind == "patch" for x in rs]
    claims = [x for kind, rs in results if kind == "claim" for x in rs]
    creates = [x for kind, x in results if kind == "create"]
    twins = [x for kind, x in results if kind == "keyed"]
    queued |= {r.json()["id"] for kind, r in results if kind == "queue" and r.status_code == 201}  # workers take it too
    others = {"email": Counter(x for k, x in results if k == "email"),
              "queue": Counter(r.status_code for k, r in results if k == "queue")}

    # 1. No lost update: each 2xx PATCH is one Described event at the version it answered, with its text.
    ok = [(description, version) for status, description, version in patches if status == 200]
    # 412: a pinned version was stale; 409: an unpinned change lost every retry to others (bounded retries).
    failures += [f"PATCH answered {status} (only 200, 412 or 409 are right)" for status, _, _ in patches
                 if status not in (200, 412, 409)]
    with httpx.Client(base_url=pair.url(0), headers=auth(owner), timeout=30) as http:
        final = http.get(f"{V1}/projects/{project_id}")
        history = http.get(f"{V1}/projects/{project_id}/history").json()["items"]
    final_version = int(final.headers["ETag"].strip('"'))
    if final_version != first_version + len(ok):
        failures.append(f"project at version {final_version} after {len(ok)} successful PATCHes from"
                        f" version {first_version}: updates were lost or invented")
    described = {e["version"]: e["data"].get("description") for e in history if e["type"].endswith(".Described")}
    for description, version in ok:
        if described.get(version) != description:
            failures.append(f"PATCH answered version {version} for {description!r}, the log has"
                            f" {described.get(version)!r} there")
    if len({version for _, version in ok}) != len(ok):
        failures.append("two successful PATCHes answered the same version")

    # 2. No double claim: every queued job claimed exactly once, then the queue is empty for everyone.
    # The job queued during the hammer may have come after every worker saw 204: one more drain takes it.
    claims += claim_loop(pair, workers[0], 1)
    claimed = Counter(job for status, job, _ in claims if status == 200)
    failures += [f"job {job} claimed {n} times" for job, n in claimed.items() if n > 1]
    if set(claimed) != queued:
        failures.append(f"claimed {sorted(claimed)} but queued {sorted(queued)}")
    failures += [f"claim answered {status}" for status, _, _ in claims if status not in (200, 204)]
    leases = [lease for status, _, lease in claims if status == 200]
    if len(set(leases)) != len(leases):
        failures.append("two claims answered the same lease")

    # 3. No quota overrun: each tenant got exactly its daily projects, through both processes together.
    for q, (tenant_id, token) in enumerate(quota_tenants):
        mine = [status for n, (status, _) in creates if n == q]
        if Counter(mine) != Counter({201: USER_DAILY_PROJECTS, 429: CREATES_EACH - USER_DAILY_PROJECTS}):
            failures.append(f"tenant {q}: creates answered {dict(Counter(mine))}")
        listed = httpx.get(f"{pair.url(q)}{V1}/projects", headers=auth(token), timeout=30).json()["items"]
        used = httpx.get(f"{pair.url(q + 1)}{V1}/me", headers=auth(token), timeout=30).json()
        used_projects = used["usage"]["quotas"]["projects"]["used"] if "usage" in used else None
        if len(listed) != USER_DAILY_PROJECTS or used_projects != USER_DAILY_PROJECTS:
            failures.append(f"tenant {q}: {len(listed)} projects, usage says {used_projects}")

    # 4. One command per Idempotency-Key, whichever process each twin reached: one project, one answer.
    for key in keys:
        answers = {answer for k, answer in twins if k == key}
        if len(answers) != 1 or next(iter(answers))[0] != 201:
            failures.append(f"the {SENDS_PER_KEY} twins of key {key} answered {answers}")
    listed = httpx.get(f"{pair.url(0)}{V1}/projects?limit=100", headers=auth(keyed), timeout=30).json()["items"]
    if sorted(p["title"] for p in listed) != sorted(f"keyed {k}" for k in keys):
        failures.append(f"{len(listed)} projects for {KEYS} keys: {sorted(p['title'] for p in listed)}")

    # 5. Unique across processes: one user per email, one active job per project.
    for kind, n in (("email", SAME_EMAIL_SENDS), ("queue", QUEUE_SENDS)):
        if others[kind] != Counter({201: 1, 409: n - 1}):
            failures.append(f"{kind}: {n} concurrent sends answered {dict(others[kind])}")
    with httpx.Client(base_url=pair.url(1), headers=auth(queuer), timeout=30) as http:
        if len(http.get(f"{V1}/jobs", params={"project_id": ready}).json()["items"]) != 1:
            failures.append("the project queued more than one job")

    # 6. The chains and the read models: through both processes and from the command line.
    for i, (_, token) in enumerate([(owner_id, owner), *job_tenants, *quota_tenants, (None, keyed), (None, queuer)]):
        for server in range(2):
            v = httpx.get(f"{pair.url(server + i)}{V1}/audit/verify", headers=auth(token), timeout=30).json()
            if not v.get("ok"):
                failures.append(f"tenant {i}'s chain does not verify through server {server}: {v}")
    t1 = time.monotonic()
    wait_until_projections_caught_up(pair)
    print(f"checks {t1 - began - took:.1f}s, catch-up {time.monotonic() - t1:.1f}s")
    failures += cli_failures(pair.servers[0], "audit", "verify")
    failures += cli_failures(pair.servers[1], "projections", "verify")
    for name, server in zip("ab", pair.servers):  # a 500 is caught above; a crash in a thread shows only here
        log = (Path(server.env["AVM_DATA_DIR"]) / "serve.log").read_text(errors="replace")
        failures += [f"server {name}: {line}" for line in log.splitlines() if "Traceback" in line][:3]

    print(f"hammer: {len(jobs)} threads for {took:.1f}s; PATCH {dict(Counter(s for s, _, _ in patches))},"
          f" claims {dict(Counter(s for s, _, _ in claims))}, creates {dict(Counter(s for _, (s, _) in creates))},"
          f" same email {dict(others['email'])}, queue one project {dict(others['queue'])}")
    assert not failures, "\n".join(failures)
    # The hammering must have collided, or it proved nothing.
    assert any(status == 412 for status, _, _ in patches), "no PATCH was ever stale: no contention was tested"


def wait_until_projections_caught_up(pair: Pair, timeout: float = 30) -> None:
    """Both processes run the async views (one runner per view at a time): wait until none lags."""
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(f"{pair.url(0)}/api/health", timeout=10).json()
        lags = {name: p.get("lag") for name, p in health["checks"]["projections"].items()}
        if all(not lag for lag in lags.values()) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def cli_failures(server: LiveServer, *args: str) -> list[str]:
    import subprocess

    done = subprocess.run([AVM, *args], env=server.env, capture_output=True, text=True, timeout=120)
    return [] if done.returncode == 0 else [f"avm {' '.join(args)} exited {done.returncode}:"
                                             f" {done.stdout[-1500:]} {done.stderr[-1500:]}"]


def test_the_pair_really_is_two_processes_on_one_database(pair: Pair) -> None:
    # Both answer, on different ports, and what one writes the other reads at once (one database).
    _, token = pair.new_user("premium")
    made = httpx.post(f"{pair.url(0)}{V1}/projects", json={"title": "seen by both"}, headers=auth(token), timeout=30)
    seen = httpx.get(f"{pair.url(1)}{V1}/projects/{made.json()['id']}", headers=auth(token), timeout=30)
    assert seen.status_code == 200 and seen.json()["title"] == "seen by both"
    data_dirs = {Path(s.env["AVM_DATA_DIR"]) for s in pair.servers}
    assert len(data_dirs) == 2 and pair.servers[0].url != pair.servers[1].url


def default_preset(pair: Pair, token: str) -> str | None:
    me = httpx.get(f"{pair.url(0)}{V1}/me", headers=auth(token), timeout=30)
    assert me.status_code == 200, me.text
    return me.json().get("default_preset_id")


def test_a_preset_deleted_through_one_process_cannot_become_the_default_through_the_other(pair: Pair) -> None:
    # Process b has the preset in its aggregate cache (it made it the default, then another one);
    # process a deletes it. Choosing it through b must see the deletion, not b's cached copy.
    _, token = pair.new_user("premium")
    with httpx.Client(headers=auth(token), timeout=30) as http:
        made = http.post(f"{pair.url(1)}{V1}/presets", json={"name": "cached in b", "config": {}})
        assert made.status_code == 201, made.text
        preset = made.json()["id"]
        other = http.post(f"{pair.url(1)}{V1}/presets", json={"name": "other", "config": {}}).json()["id"]
        assert http.post(f"{pair.url(1)}{V1}/presets/{preset}/default").status_code == 200
        assert http.post(f"{pair.url(1)}{V1}/presets/{other}/default").status_code == 200
        assert http.delete(f"{pair.url(0)}{V1}/presets/{preset}").status_code == 204

        chosen = http.post(f"{pair.url(1)}{V1}/presets/{preset}/default")

    assert chosen.status_code == 404, chosen.text
    assert default_preset(pair, token) == other


def test_deleting_a_preset_while_the_other_process_makes_it_the_default_leaves_no_deleted_default(
        pair: Pair) -> None:
    # A write skew: the delete reads the user (not the default yet) and writes the preset; the choice
    # reads the preset (not deleted yet) and writes the user. Whatever the order, a deleted preset is
    # never the default afterwards.
    _, token = pair.new_user("premium")
    dangling = []
    with httpx.Client(headers=auth(token), timeout=30) as http:
        for i in range(12):
            preset = http.post(f"{pair.url(i)}{V1}/presets", json={"name": f"raced {i}", "config": {}}).json()["id"]
            delete, choose = run_together([
                lambda: http.delete(f"{pair.url(i)}{V1}/presets/{preset}").status_code,
                lambda: http.post(f"{pair.url(i + 1)}{V1}/presets/{preset}/default").status_code])
            assert delete == 204 and choose in (200, 404), (delete, choose)
            if default_preset(pair, token) == preset:
                dangling.append((i, choose))
    assert not dangling, f"a deleted preset is the default after {len(dangling)} of 12 races: {dangling}"
