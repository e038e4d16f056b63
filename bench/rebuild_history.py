"""The history the rebuild benchmark replays: tenants' lives on the real aggregates (users, tokens,
presets, projects with stories and scene edits, render jobs, assets, usage), their events
interleaved as concurrent users would write them and appended through the application's mapper
and recorder (bench_rebuild.py; the suite's --big-store reuses the stories and the interleaving)."""
from __future__ import annotations

import hashlib
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

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

