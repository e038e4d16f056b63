"""Benchmark: a blue/green rebuild of every inline read model from 1,000,000 events, side by side
with the raw read rate of the same events.

What it does, in order:
  1. makes a fresh database: an embedded PostgreSQL in a temp directory, or, with DATABASE_URL
     (or --database-url), a new database `avm_bench_<hex>` on that server (dropped afterwards
     unless --keep); migrates it;
  2. generates --events events (default 1,000,000) of the real aggregates, as the application
     would have recorded them: thousands of tenants (users with tokens, settings, presets and
     defaults), projects with stories and scene edits, renames, deletes and restores, render
     jobs with claims, progress, retryable failures, completions and cancels, scene images and
     other assets with expiries, and the per-day usage counters. The domain methods record the
     events, the application's mapper encodes them, and AvmRecorder.insert_events appends them
     in batches of 5,000 (so the chain trigger, sequence and indexes do their real work);
     tenants are interleaved, as concurrent users would be;
  3. runs two measurements, each in a fresh child process (so each has its own peak RSS):
       read     SELECT the events the rebuild reads (same columns, same pages, same cursor),
                decoding nothing: the floor a rebuild cannot beat;
       rebuild  `projections.rebuild.blue_green` of every inline projection: read, decode, fold,
                COPY into new tables, index, catch up, swap;
  4. checks the rebuilt tables are a faithful build (verify: zero differences, unless --no-verify)
     and writes bench/results/rebuild.json: events, seconds and events/s of both, their ratio,
     the rebuild's phases, each child's peak RSS and CPU seconds, the embedded server's CPU, and
     how many cores other processes kept busy meanwhile (the machine may be shared: compare the
     ratio, and read `other_processes_cores_busy` before trusting an absolute number).

Usage:  .venv/bin/python bench/bench_rebuild.py [--events 1000000] [--database-url URL]
            [--out bench/results/rebuild.json] [--profile] [--keep] [--no-verify]
        .venv/bin/python bench/bench_rebuild.py --existing URL [--pgdata DIR]   # re-measure a kept database
A full run takes about 3½ minutes (2½ of them generating).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 5_000  # events per insert_events call (one transaction)
WORDS = ("fox forest river mountain village winter lantern harbour storm bridge garden letter "
         "carpenter tea market festival moon rain temple train island kite library").split()
SENTENCES_EN = [
    "Once upon a time a {0} lived at the edge of the {1}, and every morning it watched the {2}.",
    "The elders said that anyone who crossed the {0} would never see the {1} again.",
    "One {0} a storm like no other buried the {1} under snow, and the {2} disappeared.",
    "She packed a rope, a small axe and a bag of rice, and set out towards the {0} before dawn.",
    "In the moonlight a white {0} sat on a rock by the {1}, gazing at the stars above the {2}.",
    "Two days later they walked into the busy {0}, and came home with food, blankets and a {1}.",
    "Nobody in the {0} had ever seen a {1} so bright, nor heard a song so sad as the {2}'s.",
]
SENTENCES_ZH = [
    "很久很久以前，在一座被群山環繞的小村莊裡，住著一位年輕的木匠。",
    "他每天清晨都會走到村口的老榕樹下，看著遠方的山峰被朝陽染成金色。",
    "有一年冬天，村子裡下了一場前所未有的大雪，糧倉也被埋在雪堆下面。",
    "月光下，一隻全身雪白的狐狸正坐在岩石上，抬頭望著天空。",
    "從那以後，每到冬天，村民們都會在村口放一碗熱騰騰的米飯。",
]


# ------------------------------------------------------------------------------ the database

@contextmanager
def bench_database(url: str | None, keep: bool) -> Iterator[tuple[str, Path | None]]:
    """A fresh, migrated database: on the given server, or on an embedded one in a temp dir."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from eventstore import migrate

    if url:
        name = f"avm_bench_{uuid.uuid4().hex[:10]}"
        admin = make_conninfo(url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        db_url = make_conninfo(url, dbname=name)
        try:
            migrate.upgrade(db_url)
            yield db_url, None
        finally:
            if not keep:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        return
    from eventstore.database import ensure_database, start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="avm_bench_"))
    server: Any = start_embedded(tmp / "pg", stop_on_exit=not keep)
    try:
        db_url = server.get_uri("avm_bench")
        ensure_database(db_url)
        migrate.upgrade(db_url)
        yield db_url, tmp / "pg"
    finally:
        if not keep:
            try:
                server.cleanup()
            except Exception:  # noqa: BLE001 - stopped by its atexit hook otherwise
                pass
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp} (server still running: {db_url})", file=sys.stderr)


# ------------------------------------------------------------------------------ the history

def make_stories(rng: random.Random, n: int) -> list[str]:
    stories = []
    for i in range(n):
        paragraphs = []
        for _ in range(rng.randint(2, 6)):
            if i % 3 == 2:
                paragraphs.append("".join(rng.choice(SENTENCES_ZH) for _ in range(rng.randint(2, 5))))
            else:
                paragraphs.append(" ".join(rng.choice(SENTENCES_EN).format(*rng.sample(WORDS, 3))
                                           for _ in range(rng.randint(2, 5))))
        stories.append("\n\n".join(paragraphs))
    return stories


class History:
    """Runs a tenant's life on the real aggregates and collects the events they record, in order."""

    def __init__(self, rng: random.Random, stories: list[str], start: datetime) -> None:
        self.rng = rng
        self.stories = stories
        self.start = start

    def tenant(self) -> tuple[str, list[Any]]:
        from domain.assets import Asset
        from domain.errors import DomainProblem
        from domain.estimate import estimate_cost
        from domain.jobs import Job
        from domain.presets import Preset
        from domain.projects import Project
        from domain.quotas import Usage, tts_minutes
        from domain.users import User

        rng = self.rng
        out: list[Any] = []

        def save(*aggregates: Any) -> None:
            for a in aggregates:
                if a is not None:
                    out.extend(a.collect_events())

        role = rng.choice(("user", "premium", "premium", "admin"))
        user = User.register(email=f"u{uuid.uuid4().hex[:16]}@bench.example", name=f"User {rng.randint(1, 9999)}",
                             role=role)
        self._token(user, "default")
        save(user)
        tenant = user.tenant_id
        if rng.random() < 0.3:
            user.update_profile(name="Renamed", settings={"theme": rng.choice(("dark", "light")),
                                                          "notifications": {"discord": True}})
            save(user)
        if rng.random() < 0.2:
            token_id = self._token(user, "ci")
            save(user)
            user.revoke_token(token_id, self.start.isoformat())
            save(user)
        if rng.random() < 0.5:
            preset = Preset.create(tenant_id=tenant, name="Mine", config={"template": {"name": "dark"}})
            user.choose_default_preset(str(preset.id))
            save(preset, user)
            if rng.random() < 0.3:
                preset.rename("Mine, renamed")
                save(preset)
            if rng.random() < 0.2:
                preset.reconfigure({"voice": {"speed": 1.25}})
                save(preset)
            if rng.random() < 0.1:
                preset.delete()
                user.choose_default_preset(None)
                save(preset, user)

        usage: dict[str, Usage] = {}

        def consume(day: str, amounts: dict[str, int]) -> Usage:
            u = usage.get(day)
            if u is None:
                u = usage[day] = Usage(tenant_id=tenant, day=day)
            try:
                u.consume(role, amounts)
            except DomainProblem:
                pass
            return u

        clock = self.start
        for i in range(rng.randint(4, 12)):
            day = (self.start.date() + timedelta(days=i // 2)).isoformat()
            project = Project.create(tenant_id=tenant, title=f"Project {i} {rng.choice(WORDS)}",
                                     config={"aspect_ratio": rng.choice(("16:9", "9:16", "1:1"))})
            save(project, consume(day, {"projects": 1}))
            story = rng.choice(self.stories)
            project.set_story(story)
            save(project, consume(day, {"story_chars": len(story)}))
            for _ in range(rng.randint(1, 8)):
                self._scene_edit(project)
                save(project)
            if rng.random() < 0.3:
                project.rename(f"Project {i}, final")
                save(project)
            if rng.random() < 0.3:
                project.reconfigure({"voice": {"speed": rng.choice((0.75, 1.25, 1.5))}})
                save(project)
            for _ in range(rng.choice((0, 1, 1, 2))):
                clock += timedelta(minutes=5)
                if project.active_job_id or project.status not in ("ready", "failed") or project.deleted:
                    break
                generation, voice = project.config["generation"], project.config["voice"]
                chars, scenes = len(project.story or ""), len(project.scenes)
                job = Job(tenant_id=tenant, project_id=str(project.id), config=project.config,
                          estimate=estimate_cost(chars, scenes, generation["images_per_scene"]),
                          priority=1 if role in ("premium", "admin") else 0,
                          max_attempts=1 + generation["retry_attempts"],
                          timeout_seconds=generation["timeout_seconds"], queued_at=clock.isoformat())
                project.queue_job(str(job.id))
                save(job, project, consume(day, {
                    "images": scenes * generation["images_per_scene"],
                    "tts_minutes": tts_minutes(chars, voice["language"], voice["speed"])}))
                if rng.random() < 0.1:
                    job.cancel(clock)
                    project.job_ended(str(job.id), "cancelled")
                    save(job, project)
                    continue
                self._run_job(job, project, clock, save)
                clock += timedelta(minutes=30)
            for index in rng.sample(range(len(project.scenes)), k=min(len(project.scenes), rng.randint(0, 4))):
                asset = Asset.register(tenant_id=tenant, type="image", uri=f"r2://bench/{uuid.uuid4().hex}.png",
                                       size_bytes=rng.randint(10_000, 900_000), metadata={"width": 1024},
                                       project_id=str(project.id), job_id=None, scene_index=index,
                                       expires_at=None, now=clock)
                if not project.deleted:
                    project.attach_scene_image(index, str(asset.id))
                save(asset, project)
            if rng.random() < 0.3:
                asset = Asset.register(tenant_id=tenant, type=rng.choice(("audio", "json", "text")),
                                       uri=f"s3://bench/{uuid.uuid4().hex}", size_bytes=None, metadata={},
                                       project_id=None, job_id=None, scene_index=None,
                                       expires_at=clock + timedelta(seconds=1), now=clock)
                save(asset)
                asset.expire(clock + timedelta(seconds=2))
                save(asset)
            if rng.random() < 0.15 and not project.active_job_id:
                project.delete()
                save(project)
                if rng.random() < 0.5:
                    project.restore()
                    save(project)
        return tenant, out

    def _token(self, user: Any, name: str) -> str:
        token_id = str(uuid.uuid4())
        secret = uuid.uuid4().hex
        user.issue_token(token_id=token_id, name=name, token_hash=hashlib.sha256(secret.encode()).hexdigest(),
                         prefix="avm_" + secret[:4], issued_at=self.start.isoformat(), expires_at=None)
        return token_id

    def _scene_edit(self, project: Any) -> None:
        from domain.errors import DomainProblem

        rng = self.rng
        n = len(project.scenes)
        try:
            kind = rng.random()
            if kind < 0.45:
                project.update_scene(rng.randrange(n), prompt=f"a {rng.choice(WORDS)} at dusk, watercolour")
            elif kind < 0.6 and n > 1:
                order = list(range(n))
                rng.shuffle(order)
                project.reorder_scenes(order)
            elif kind < 0.75 and n > 1:
                i = rng.randrange(n - 1)
                project.merge_scenes([i, i + 1])
            elif kind < 0.9:
                i = rng.randrange(n)
                text = project.scenes[i]["text"]
                if len(text) > 20:
                    project.split_scene(i, len(text) // 2)
            else:
                i = rng.randrange(n)
                project.update_scene(i, text=project.scenes[i]["text"][: max(1, len(project.scenes[i]["text"]) - 5)])
        except DomainProblem:
            pass

    def _run_job(self, job: Any, project: Any, clock: datetime, save: Any) -> None:
        from domain.jobs import STEPS

        rng = self.rng
        while True:
            clock += timedelta(minutes=2)
            job.claim(worker_id=f"worker-{rng.randint(1, 8)}", now=clock)
            project.job_started(str(job.id))
            save(job, project)
            for step in STEPS[: rng.randint(1, len(STEPS))]:
                clock += timedelta(seconds=20)
                job.report_progress(step, float(rng.randint(0, 100)), clock)
                save(job)
            outcome = rng.random()
            if outcome < 0.6:
                job.complete(round(rng.uniform(0.1, 3.0), 4), clock)
                project.job_ended(str(job.id), "succeeded")
                save(job, project)
                return
            retryable = outcome < 0.9
            requeued = job.fail("RATE_LIMIT" if retryable else "CONTENT_POLICY", "provider said no", retryable,
                                clock, 0.5 + rng.random() / 2)
            if not requeued:
                project.job_ended(str(job.id), "failed")
            save(job, project)
            if not requeued:
                if rng.random() < 0.3:
                    job.retry("image_generation", clock)
                    project.queue_job(str(job.id))
                    save(job, project)
                    continue
                return
            clock += timedelta(minutes=1)


def interleave(histories: list[list[Any]], rng: random.Random) -> Iterator[Any]:
    """Merge tenants' histories in small runs, keeping each tenant's own order (as concurrent users would)."""
    cursors = [[h, 0] for h in histories if h]
    while cursors:
        c = rng.choice(cursors)
        h, i = c
        run = rng.randint(1, 6)
        yield from h[i:i + run]
        c[1] = i + run
        if c[1] >= len(h):
            cursors.remove(c)


def generate(url: str, events: int, seed: int = 7) -> dict[str, Any]:
    """Append `events` events of the real aggregates through the application's mapper and recorder."""
    import functools

    import domain.projects
    from api.services import Services
    from eventstore.database import Database

    # Segmenting is deterministic; the stories repeat, so cache it (only the generator's speed changes).
    domain.projects.segment = functools.lru_cache(maxsize=None)(domain.projects.segment)  # type: ignore[assignment]
    rng = random.Random(seed)
    stories = make_stories(rng, 400)
    history = History(rng, stories, datetime.now(timezone.utc))
    services = Services(Database(url=url, embedded=False), pool_size=2)
    mapper, recorder = services.app.mapper, services.app.recorder
    started = time.perf_counter()
    written = tenants = 0
    batch: list[Any] = []
    owners: dict[Any, uuid.UUID] = {}
    try:
        while written < events:
            group = []
            for _ in range(25):
                tenant, evs = history.tenant()
                tenants += 1
                tid = uuid.UUID(tenant)
                for e in evs:
                    owners[e.originator_id] = tid
                group.append(evs)
            for e in interleave(group, rng):
                batch.append(mapper.to_stored_event(e))
                if len(batch) == BATCH or written + len(batch) == events:
                    recorder.insert_events(batch, tenants={s.originator_id: owners[s.originator_id] for s in batch})
                    written += len(batch)
                    batch = []
                    if written % 100_000 < BATCH:
                        print(f"  generated {written:,} events ({written / (time.perf_counter() - started):,.0f}/s)",
                              file=sys.stderr, flush=True)
                    if written >= events:
                        break
    finally:
        services.close()
    return {"events": written, "tenants": tenants, "seconds": round(time.perf_counter() - started, 2)}


# ------------------------------------------------------------------------------ the measurements

def measure_read(url: str) -> dict[str, Any]:
    """Read every event the rebuild reads, the way it reads them, decoding nothing."""
    import psycopg

    from eventstore.replay import scan_events

    started = time.perf_counter()
    n = 0
    with psycopg.connect(url) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM events").fetchone()[0]
        with conn.transaction():
            for page in scan_events(conn, upto=head):
                n += len(page)
    seconds = time.perf_counter() - started
    return {"events": n, "seconds": round(seconds, 3), "events_per_s": round(n / seconds)}


def measure_rebuild(url: str, profile: bool) -> dict[str, Any]:
    """A blue/green rebuild of every inline projection, timed end to end."""
    from api.services import Services
    from eventstore.database import Database
    from projections.rebuild import blue_green

    services = Services(Database(url=url, embedded=False), pool_size=2)
    try:
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        result = blue_green(url, services.app.mapper)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            import pstats

            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    finally:
        services.close()
    return {"events": result.events, "seconds": round(seconds, 3), "events_per_s": round(result.events / seconds),
            "aggregates": result.aggregates, "rows": result.rows, "phases": result.phases}


def measure_verify(url: str) -> dict[str, Any]:
    from api.services import Services
    from eventstore.database import Database
    from projections.rebuild import verify

    services = Services(Database(url=url, embedded=False), pool_size=2)
    try:
        started = time.perf_counter()
        result = verify(url, services.app.mapper)
        return {"differences": len(result.differences), "seconds": round(time.perf_counter() - started, 3)}
    finally:
        services.close()


CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of every core, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def postgres_cpu(pgdata: Path | None) -> float | None:
    """CPU seconds of the embedded server: the postmaster (with the backends it reaped) and its live children."""
    if pgdata is None:
        return None
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        ppid, utime, stime, cutime, cstime = int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14])
        if int(proc.name) == pid:
            total += utime + stime + cutime + cstime
        elif ppid == pid:
            total += utime + stime
    return total / CLK_TCK


def child(kind: str, url: str, pgdata: Path | None = None, profile: bool = False) -> dict[str, Any]:
    """Run one measurement in a fresh process: its result, its peak RSS and CPU, and who else used the cores."""
    cmd = [sys.executable, __file__, "--child", kind, "--url", url] + (["--profile"] if profile else [])
    busy0, total0 = machine_busy_jiffies()
    pg0, wall0 = postgres_cpu(pgdata), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - wall0
    busy1, total1 = machine_busy_jiffies()
    pg1 = postgres_cpu(pgdata)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed ({proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    cores = os.cpu_count() or 1
    machine_cores_busy = (busy1 - busy0) / max(total1 - total0, 1) * cores
    pg_cores = (pg1 - pg0) / wall if pg0 is not None and pg1 is not None else None
    result["cpu"] = {
        "process_cpu_s": result.pop("cpu_s"),
        "process_cores_busy": round(result["cpu_s_total"] / wall, 2) if "cpu_s_total" in result else None,
        "postgres_cpu_s": round(pg1 - pg0, 2) if pg_cores is not None else None,  # type: ignore[operator]
        "machine_cores_busy": round(machine_cores_busy, 2),
        "other_processes_cores_busy": round(max(machine_cores_busy - result["cpu_s_total"] / wall
                                                - (pg_cores or 0.0), 0.0), 2),
        "wall_s": round(wall, 2),
    }
    result.pop("cpu_s_total", None)
    return result


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_mb": mem, "python": platform.python_version(),
            "kernel": platform.release(), "loadavg": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rebuild.json"))
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the rebuild child")
    parser.add_argument("--keep", action="store_true", help="keep the database (and temp dir)")
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--existing", metavar="URL", help="measure an already generated database (skips 1-2)")
    parser.add_argument("--pgdata", help="with --existing: the embedded server's data directory (for its CPU)")
    parser.add_argument("--child", choices=("read", "rebuild", "verify"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = {"read": lambda: measure_read(args.url), "rebuild": lambda: measure_rebuild(args.url, args.profile),
                  "verify": lambda: measure_verify(args.url)}[args.child]()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
        result["cpu_s_total"] = usage.ru_utime + usage.ru_stime  # the whole child, start-up included
        result["cpu_s"] = round(result["cpu_s_total"], 2)
        print(json.dumps(result))
        return

    if args.existing:
        @contextmanager
        def existing() -> Iterator[tuple[str, Path | None]]:
            yield args.existing, Path(args.pgdata) if args.pgdata else None
        database = existing()
    else:
        print(f"generating {args.events:,} events ...", file=sys.stderr)
        database = bench_database(args.database_url, args.keep)
    with database as (url, pgdata):
        if args.existing:
            import psycopg

            from eventstore import migrate

            migrate.upgrade(url)
            with psycopg.connect(url) as conn:
                generated = {"events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
                             "tenants": conn.execute("SELECT count(DISTINCT tenant_id) FROM events").fetchone()[0],
                             "seconds": None, "existing": True}
        else:
            generated = generate(url, args.events)
        print(f"generated: {generated}", file=sys.stderr)
        read = child("read", url, pgdata)
        print(f"read:      {read}", file=sys.stderr)
        rebuild = child("rebuild", url, pgdata, args.profile)
        print(f"rebuild:   {rebuild}", file=sys.stderr)
        verified = None if args.no_verify else child("verify", url, pgdata)
        if verified is not None:
            print(f"verify:    {verified}", file=sys.stderr)
    report = {
        "benchmark": "rebuild",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "database": ("existing database" if args.existing else
                     "DATABASE_URL" if args.database_url else "embedded PostgreSQL (temp dir)"),
        "generated": generated,
        "read": read,
        "rebuild": rebuild,
        "verify": verified,
        "ratio_rebuild_to_read": round(rebuild["events_per_s"] / read["events_per_s"], 3),
        "target_events_per_s": 50_000,
        "machine": machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("read", "rebuild", "ratio_rebuild_to_read")}, indent=2))


if __name__ == "__main__":
    main()
