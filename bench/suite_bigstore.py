"""The big store (--big-store): 1,000,000 events of 1,000 tenants appended through the recorder, then
create-project and the tenant audit page measured again."""
from __future__ import annotations

import datetime as dt
import queue
import random
import threading
import time
import uuid
from typing import Any

from suite_processes import SuiteFailure
from suite_scenarios import BIG_STORE_SCENARIOS

WORDS = ("fox forest river mountain village winter lantern harbour storm bridge garden letter "
         "carpenter tea market festival moon rain temple train island kite library").split()



def tenant_history(app: Any, rng: random.Random, stories: list[str], n_events: int,
                   index: int) -> tuple[str, str, list[Any], list[Any]]:
    """Exactly `n_events` events of one tenant's life on the real aggregates: a premium user with a
    token, then projects (story, scene edits, renames) of which some are rendered (queue, claim,
    progress, complete). Returns (tenant id, its token, the aggregates, the events in order)."""
    from domain.estimate import estimate_cost
    from domain.jobs import STEPS, Job
    from domain.projects import Project
    from domain.users import User

    events: list[Any] = []

    def save(*aggregates: Any) -> None:
        for a in aggregates:
            events.extend(a.collect_events())

    user = User.register(email=f"tenant{index}-{uuid.uuid4().hex[:8]}@bench.example", name=f"Tenant {index}",
                         role="premium")
    token = app._issue(user, "bench", None, None)  # noqa: SLF001 - how register_user issues a token
    save(user)
    tenant = user.tenant_id
    aggregates: list[Any] = [user]
    project = None
    clock = dt.datetime.now(dt.timezone.utc)
    while n_events - len(events) > 30:
        project = Project.create(tenant_id=tenant, title=f"Project {len(aggregates)} {rng.choice(WORDS)}")
        project.set_story(rng.choice(stories))
        save(project)
        aggregates.append(project)
        for k in range(rng.randint(2, 8)):
            if k % 2 and project.scenes:
                project.update_scene(rng.randrange(len(project.scenes)), prompt=f"{rng.choice(WORDS)} at dusk {k}")
            else:
                project.rename(f"{project.title[:200]} {k}")
            save(project)
        if rng.random() < 0.3:
            generation = project.config["generation"]
            job = Job(tenant_id=tenant, project_id=str(project.id), config=project.config,
                      estimate=estimate_cost(len(project.story or ""), len(project.scenes),
                                             generation["images_per_scene"]),
                      priority=1, max_attempts=1 + generation["retry_attempts"],
                      timeout_seconds=generation["timeout_seconds"], queued_at=clock.isoformat())
            project.queue_job(str(job.id))
            save(job, project)
            job.claim(worker_id="bench-worker", now=clock)
            project.job_started(str(job.id))
            save(job, project)
            for step in STEPS[:2]:
                job.report_progress(step, 50.0, clock)
                save(job)
            job.complete(0.5, clock)
            project.job_ended(str(job.id), "succeeded")
            save(job, project)
            aggregates.append(job)
    target = project if project is not None else user
    while len(events) < n_events:  # top up to exactly n_events, one event each
        if isinstance(target, Project):
            target.rename(f"Project final {len(events)}")
        else:
            target.update_profile(name=f"Tenant {index} {len(events)}")
        save(target)
    return tenant, token, aggregates, events



class BigStore:
    """Suite methods: preload the big store and measure on it."""

    def preload(self, total: int, tenants: int) -> dict[str, Any]:
        """Append `total` events of `tenants` tenants (real users with tokens, projects with stories
        and scene edits, render jobs) through AvmRecorder.insert_events: 5 tenants at a time,
        interleaved, in calls of at most --preload-batch events and --preload-batch-kb KB of
        payload; then their inline read models from the final aggregates, in calls of 50 aggregates.

        The byte cap works around an app problem: a call whose pipelined statements pass roughly
        0.6-0.9 MB never returns (psycopg pipeline deadlock, psycopg issue #685), holding the
        events table lock. 5,000 events of ~300 B already hit it."""
        from rebuild_history import interleave, make_stories
        from eventstore.recorder import EventMeta
        from projections.inline import writes_for

        services = self.app_services()
        app, mapper, recorder = services.app, services.app.mapper, services.app.recorder
        per_tenant = total // tenants
        max_events, max_bytes = self.args.preload_batch, self.args.preload_batch_kb * 1024
        rng = random.Random(7)
        stories = make_stories(rng, 64)
        group = 5
        q: queue.Queue[Any] = queue.Queue(maxsize=4)
        errors: list[BaseException] = []
        stats = {"events": 0, "event_calls": 0, "projection_calls": 0, "insert_s": 0.0, "generate_s": 0.0}

        def writer() -> None:
            try:
                while True:
                    item = q.get()
                    if item is None:
                        return
                    kind, payload, owners = item
                    t0 = time.perf_counter()
                    meta = EventMeta(actor_id="system:bench preload", correlation_id=str(uuid.uuid4()))
                    if kind == "events":
                        recorder.insert_events(payload, tenants=owners, meta=meta)
                        stats["events"] += len(payload)
                        stats["event_calls"] += 1
                    else:
                        recorder.insert_events([], tenants=owners, meta=meta, writes=writes_for(payload))
                        stats["projection_calls"] += 1
                    stats["insert_s"] += time.perf_counter() - t0
            except BaseException as exc:  # noqa: BLE001 - re-raised by the producer
                errors.append(exc)

        def put(item: Any) -> None:
            while not errors:
                try:
                    q.put(item, timeout=1.0)
                    return
                except queue.Full:
                    if not thread.is_alive():
                        return

        thread = threading.Thread(target=writer, name="bench-preload", daemon=True)
        thread.start()
        started = time.perf_counter()
        probe_token = None
        try:
            t = 0
            while t < tenants and not errors:
                g0 = time.perf_counter()
                histories, owners, aggregates = [], {}, []
                for _ in range(min(group, tenants - t)):
                    tenant, token, aggs, events = tenant_history(app, rng, stories, per_tenant, t)
                    if t == tenants // 2:
                        probe_token = token
                    tid = uuid.UUID(tenant)
                    for a in aggs:
                        owners[a.id] = tid
                    aggregates += aggs
                    histories.append(events)
                    t += 1
                chunk: list[Any] = []
                size = 0
                chunks = []
                for e in interleave(histories, rng):
                    stored = mapper.to_stored_event(e)
                    cost = len(stored.state) + len(stored.topic) + 64
                    if chunk and (len(chunk) >= max_events or size + cost > max_bytes):
                        chunks.append(chunk)
                        chunk, size = [], 0
                    chunk.append(stored)
                    size += cost
                if chunk:
                    chunks.append(chunk)
                stats["generate_s"] += time.perf_counter() - g0
                for c in chunks:
                    put(("events", c, {s.originator_id: owners[s.originator_id] for s in c}))
                for i in range(0, len(aggregates), 50):
                    part = aggregates[i:i + 50]
                    put(("projections", part, {a.id: owners[a.id] for a in part}))
                if not self.args.quiet and t % 100 == 0:
                    el = time.perf_counter() - started
                    print(f"  preloaded {stats['events']:,} events, {t} tenants generated"
                          f" ({stats['events'] / el:,.0f} events/s)", flush=True)
        finally:
            put(None)
            thread.join()
        if errors:
            raise SuiteFailure(f"preload failed: {type(errors[0]).__name__}: {errors[0]}")
        seconds = time.perf_counter() - started
        self.spec["tokens"]["preloaded"] = probe_token
        self.servers["avm"].secrets.append(probe_token or "")
        self.write_spec()
        t0 = time.perf_counter()
        self.vacuum_analyze()
        self.checkpoint()
        return {"events": stats["events"], "tenants": tenants, "events_per_tenant": per_tenant,
                "insert_calls": stats["event_calls"], "projection_calls": stats["projection_calls"],
                "max_events_per_call": max_events, "max_kb_per_call": self.args.preload_batch_kb,
                "generate_s": round(stats["generate_s"], 1), "insert_s": round(stats["insert_s"], 1),
                "seconds": round(seconds, 1), "events_per_s": round(stats["events"] / seconds),
                "vacuum_analyze_checkpoint_s": round(time.perf_counter() - t0, 1)}

    def run_big_store(self) -> None:
        self.log(f"[big store] preloading {self.args.big_store_events:,} events of {self.args.big_store_tenants:,}"
                 " tenants ...")
        big: dict[str, Any] = {"preload": self.preload(self.args.big_store_events, self.args.big_store_tenants),
                               "scenarios": {}}
        self.log(f"  preload: {big['preload']}")
        self.report["big_store"] = big
        self.log("  waiting for the asynchronous projectors to catch up with the preload ...")
        big["projectors_catch_up"] = self.settle()
        self.log(f"  {big['projectors_catch_up']}")
        for sc in BIG_STORE_SCENARIOS:
            self.log(f"[big store: {sc.key}] {sc.label}")
            if sc.key == "create_project":
                self.prepare(sc)
            facts = self.db_facts()
            res = self.measure(sc, big["scenarios"])
            res["database_before"] = facts
