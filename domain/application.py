"""The avm application: every command of the domain, one save (one transaction) each."""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, Repository
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from eventsourcing.utils import get_topic

from domain.access import Access
from domain.assets import Asset
from domain.config import BUILTIN_PRESETS, merge_config
from domain.errors import ConcurrentChange, Conflict, Forbidden, NotFound, StaleVersion, ValidationProblem
from domain.estimate import estimate_cost
from domain.jobs import Job
from domain.presets import BUILTIN_IDS, Preset
from domain.projects import Project
from domain.quotas import Usage, limits_for, tts_minutes
from domain.shared import ANY_VERSION, TenantAggregate, deep_copy
from domain.users import User

A = TypeVar("A", bound=TenantAggregate)
R = TypeVar("R")


def mutate_all(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance` check against a
    runtime Protocol, which cost a third of the CPU of folding a stream (`?at=`). Every event of
    our aggregates is a library aggregate event, which has `mutate`."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class AvmRepository(Repository[UUID]):
    """The library's repository, folding events with `mutate_all` unless told otherwise, and
    copying a cached aggregate with `deep_copy` (no depth limit) instead of `deepcopy`."""

    def get(self, aggregate_id: UUID, *, version: int | None = None,  # type: ignore[override]
            projector_func: Any = mutate_all, deepcopy_from_cache: bool = True, **kwargs: Any) -> Any:
        copy = deepcopy_from_cache and self.deepcopy_from_cache and bool(self.cache) and version is None
        aggregate = super().get(aggregate_id, version=version, projector_func=projector_func,
                                deepcopy_from_cache=False, **kwargs)
        return deep_copy(aggregate) if copy else aggregate

MAX_CONFLICT_RETRIES = 16
log = logging.getLogger("avm.sweeps")
TOKEN_PREFIX = "avm_"


@dataclass(frozen=True)
class CommandContext:
    """Who issues a command, for which tenant, and the ids that tie it to a request."""

    tenant_id: str
    actor_id: str
    command_id: str | None = None
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    causation_id: str | None = None
    role: str = "user"
    fingerprint: bytes | None = None  # of the request, when command_id is an Idempotency-Key
    reason: str | None = None  # why (X-Reason), stored on every event the command appends

    @classmethod
    def system(cls, command: str, tenant_id: str = "00000000-0000-0000-0000-000000000000") -> CommandContext:
        run = str(uuid4())
        return cls(tenant_id=tenant_id, actor_id=f"system:{command}", correlation_id=run, causation_id=run,
                   role="admin")

    def for_tenant(self, tenant_id: str, role: str | None = None) -> CommandContext:
        return replace(self, tenant_id=tenant_id, role=role or self.role)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class AvmApplication(Application[UUID]):
    """One application for the whole domain; the persistence module is chosen by the composition root."""

    name = "avm"
    # Aggregates are cached without fast-forwarding: a command on a cached aggregate costs no
    # read; a stale copy (another process wrote since) fails its save on the version and is
    # evicted and reloaded (see _attempt).
    # 2,000 entries (about 2 KB each) hold the hot aggregates (each tenant's daily Usage, the
    # projects being worked on); 20,000 grew RSS by 10 MB/min for minutes under a create load
    # (bench/results: the soak), which is a cache filling up, not a leak, but not flat either.
    # The library's JSON format, written and read by msgspec (eventstore/transcoder.py).
    env = {"IS_SNAPSHOTTING_ENABLED": "y", "AGGREGATE_CACHE_MAXSIZE": "2000",
           "AGGREGATE_CACHE_FASTFORWARD": "n", "TRANSCODER_TOPIC": "eventstore.transcoder:MsgspecTranscoder"}
    snapshotting_intervals = {Project: 25, User: 25, Job: 25, Asset: 25, Preset: 25}
    snapshotting_projectors = {cls: mutate_all for cls in snapshotting_intervals}

    def construct_repository(self) -> Repository[UUID]:
        library = super().construct_repository()  # the library's settings, read from the environment
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return AvmRepository(event_store=library.event_store, snapshot_store=library.snapshot_store,
                             cache_maxsize=int(maxsize) if maxsize else None,
                             fastforward=library.fastforward, fastforward_skipping=library.fastforward_skipping,
                             deepcopy_from_cache=library.deepcopy_from_cache)

    # Told (sweep, item id, error) when one item of a sweep or of the work queue fails and is
    # skipped; the composition root counts it (api/controllers/metrics.py).
    item_failed: Callable[[str, Any, BaseException], None] | None = None
    # Whether an error means the database is unavailable (then the whole run stops, not the item).
    is_outage: Callable[[BaseException], bool] | None = None
    # The same-transaction writes that bring the inline read models up to date with the saved
    # aggregates, given the topics of their new events; the composition root wires the projections
    # (api/composition.py). The recorder runs the writes; it never sees an aggregate.
    inline_writes: Callable[[Sequence[Any], Sequence[str]], list[Any]] | None = None

    def _skip_failed(self, sweep: str, item_id: Any, error: Exception, failed: set[Any] | None) -> None:
        """One bad item never stops the others: log it (its id, never its data), count it, and leave
        it as it is, for the next run to try again. A database that is down is no item's fault."""
        if isinstance(error, (OperationalError, InterfaceError)) or (self.is_outage and self.is_outage(error)):
            raise error
        log.warning("%s: %s skipped after %s (retried on the next run)", sweep, item_id, type(error).__name__)
        if failed is not None:
            failed.add(item_id)
        if self.item_failed is not None:
            self.item_failed(sweep, item_id, error)

    # -- plumbing -------------------------------------------------------------------------------
    def _save(self, ctx: CommandContext, *aggregates: TenantAggregate) -> None:
        idempotency = None
        if ctx.command_id and ctx.fingerprint is not None:
            # Keys belong to the caller (the actor), whoever owns the aggregates changed.
            idempotency = (UUID(ctx.actor_id), ctx.command_id, ctx.fingerprint)
        writes = []
        if self.inline_writes is not None:
            writes = self.inline_writes(aggregates, [get_topic(type(e)) for a in aggregates for e in a.pending_events])
        # A broken constraint arrives as the domain error the composition root gave it (EmailTaken,
        # CommandAlreadyApplied, ConcurrentChange): no constraint name is read here.
        self.save(
            *aggregates,
            meta=ctx,
            tenants={a.id: UUID(a.tenant_id) for a in aggregates},
            writes=writes,
            idempotency=idempotency,
        )

    def forget_cached(self) -> None:
        """Empty the aggregate cache. Not `LRUCache.clear()`: it resets the library's linked list
        but keeps the dict and the `full` flag, so the next insertion into a full cache evicts a
        key that is no longer linked (KeyError). A new cache of the same size instead; threads
        still holding the old one finish on it."""
        cache = self.repository.cache
        if isinstance(cache, LRUCache):
            self.repository.cache = LRUCache(maxsize=cache.maxsize)
        elif cache is not None:
            cache.cache.clear()

    def evict(self, *aggregates: TenantAggregate) -> None:
        """Forget cached copies (after a version conflict they are known to be stale)."""
        if self.repository.cache is not None:
            for agg in aggregates:
                try:
                    self.repository.cache.get(agg.id, evict=True)
                except KeyError:
                    pass

    def load(self, cls: type[A], aggregate_id: UUID | str, tenant_id: str | None,
             version: int | None = None) -> A:
        """The aggregate, or NotFound when missing, of another type, or of another tenant."""
        try:
            agg = self.repository.get(UUID(str(aggregate_id)), version=version)
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"{cls.__name__.lower()} not found") from None
        if not isinstance(agg, cls) or (tenant_id is not None and agg.tenant_id != tenant_id):
            raise NotFound(f"{cls.__name__.lower()} not found")
        return agg

    _stripes = [threading.Lock() for _ in range(256)]

    @contextmanager
    def _serialised(self, keys: Iterable[Any]) -> Iterator[None]:
        """Commands of this process on the same aggregates take turns (striped locks, taken in
        order so they cannot deadlock): they then never conflict with each other, and version
        conflicts are left to commands of other processes."""
        stripes = sorted({hash(str(k)) % len(self._stripes) for k in keys})
        for i in stripes:
            self._stripes[i].acquire()
        try:
            yield
        finally:
            for i in reversed(stripes):
                self._stripes[i].release()

    def _attempt(self, ctx: CommandContext, expected_version: int | None,
                 build: Callable[[], tuple[Sequence[TenantAggregate | None], R]],
                 keys: Iterable[Any] = ()) -> R:
        """Run `build` (load, check, change) and save what it returns in one transaction;
        on a concurrent write, reload and run it again (never when If-Match was given)."""
        if expected_version == ANY_VERSION:
            expected_version = None  # `*` pins no version: a concurrent change is retried as without If-Match
        with self._serialised(keys):
            return self._attempt_unlocked(ctx, expected_version, build)

    def _attempt_unlocked(self, ctx: CommandContext, expected_version: int | None,
                          build: Callable[[], tuple[Sequence[TenantAggregate | None], R]]) -> R:
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:
                # Back off a little (with jitter) so contenders stop colliding in lock-step.
                time.sleep(min(0.05, 0.001 * 2 ** attempt) * (0.5 + secrets.randbelow(1000) / 1000))
            try:
                aggregates, result = build()
            except StaleVersion:
                if attempt or self.repository.cache is None:
                    raise
                self.forget_cached()  # the cached copy may be the stale one: read afresh
                continue
            changed = [a for a in aggregates if a is not None and a.pending_events]
            if not changed:
                return result
            try:
                self._save(ctx, *changed)
                return result
            except ConcurrentChange:
                self.evict(*changed)
                if expected_version is not None:
                    raise StaleVersion(
                        f"version {expected_version} is stale: another change was applied first",
                        field="If-Match") from None
        if expected_version is not None:
            raise StaleVersion("too many concurrent changes, try again", field="If-Match")
        raise Conflict("too many concurrent changes to the same data, try again")

    def _change(self, ctx: CommandContext, cls: type[A], aggregate_id: UUID | str,
                expected_version: int | None, change: Callable[[A], R],
                *, tenant_id: str | None = "ctx", restoring: bool = False) -> tuple[A, R]:
        """Load one aggregate, check the version, apply `change`, save (with retries).
        A soft-deleted aggregate answers NotFound, as a read does, unless the change is its restore."""
        owner = ctx.tenant_id if tenant_id == "ctx" else tenant_id

        def build() -> tuple[list[TenantAggregate], tuple[A, R]]:
            agg = self.load(cls, aggregate_id, owner)
            if not restoring:
                agg.check_not_deleted()
            agg.check_version(expected_version)
            return [agg], (agg, change(agg))

        return self._attempt(ctx, expected_version, build, keys=[aggregate_id])

    @staticmethod
    def _usage_key(tenant_id: str, now: datetime) -> UUID:
        return Usage.create_id(tenant_id, now.astimezone(timezone.utc).date().isoformat())

    def _usage(self, tenant_id: str, now: datetime) -> Usage:
        day = now.astimezone(timezone.utc).date().isoformat()
        try:
            return self.repository.get(Usage.create_id(tenant_id, day))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return Usage(tenant_id=tenant_id, day=day)

    def usage_today(self, tenant_id: str, role: str, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(timezone.utc)
        return self._usage(tenant_id, now).view(role)

    # -- users ----------------------------------------------------------------------------------
    def register_user(self, ctx: CommandContext, *, email: str, name: str | None, role: str,
                      token_name: str = "default", expires_in_days: int | None = None,
                      now: datetime | None = None) -> tuple[User, str]:
        user = User.register(email=email, name=name, role=role)
        token = self._issue(user, token_name, expires_in_days, now)
        self._save(ctx.for_tenant(user.tenant_id), user)
        return user, token

    def _issue(self, user: User, name: str, expires_in_days: int | None, now: datetime | None) -> str:
        now = now or datetime.now(timezone.utc)
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise ValidationProblem("must be between 1 and 3650", field="expires_in_days")
        token = new_token()
        user.issue_token(
            token_id=str(uuid4()), name=name, token_hash=hash_token(token).hex(), prefix=token[:8],
            issued_at=now.isoformat(),
            expires_at=(now + timedelta(days=expires_in_days)).isoformat() if expires_in_days else None,
        )
        return token

    def issue_token(self, ctx: CommandContext, *, name: str, expires_in_days: int | None = None,
                    now: datetime | None = None) -> tuple[User, str, str]:
        def issue(user: User) -> str:
            return self._issue(user, name, expires_in_days, now)

        user, token = self._change(ctx, User, ctx.tenant_id, None, issue)
        token_id = next(t for t, v in user.tokens.items() if v["token_hash"] == hash_token(token).hex())
        return user, token_id, token

    def revoke_token(self, ctx: CommandContext, token_id: str, now: datetime | None = None) -> User:
        stamp = (now or datetime.now(timezone.utc)).isoformat()
        user, _ = self._change(ctx, User, ctx.tenant_id, None, lambda u: u.revoke_token(token_id, stamp))
        return user

    def update_me(self, ctx: CommandContext, expected_version: int | None, **changes: Any) -> User:
        user, _ = self._change(ctx, User, ctx.tenant_id, expected_version,
                               lambda u: u.update_profile(**changes))
        return user

    def change_role(self, ctx: CommandContext, user_id: str, role: str) -> User:
        user, _ = self._change(ctx, User, user_id, None, lambda u: u.change_role(role), tenant_id=None)
        return user

    # -- projects -------------------------------------------------------------------------------
    def preset_config(self, tenant_id: str, preset_id: str) -> dict[str, Any]:
        """The config of a built-in preset or of one of the tenant's own (404 otherwise)."""
        for builtin in BUILTIN_PRESETS:
            if builtin["id"] == preset_id:
                return dict(builtin["config"])
        try:
            preset = self.load(Preset, preset_id, tenant_id)
        except NotFound:
            raise NotFound("preset not found", field="preset_id") from None
        if preset.deleted:
            raise NotFound("preset not found", field="preset_id")
        return dict(preset.config)

    def create_project(self, ctx: CommandContext, *, title: str, description: str = "",
                       config: dict[str, Any] | None = None, preset_id: str | None = None,
                       now: datetime | None = None) -> Project:
        now = now or datetime.now(timezone.utc)
        base = self.preset_config(ctx.tenant_id, preset_id) if preset_id else {}
        if config:
            base = merge_config(base, config) if base else config

        def build() -> tuple[list[TenantAggregate], Project]:
            project = Project.create(tenant_id=ctx.tenant_id, title=title, description=description,
                                     config=base, preset_id=preset_id)
            usage = self._usage(ctx.tenant_id, now)
            usage.consume(ctx.role, {"projects": 1})
            return [project, usage], project

        return self._attempt(ctx, None, build, keys=[self._usage_key(ctx.tenant_id, now)])

    def change_project(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                       change: Callable[[Project], R]) -> tuple[Project, R]:
        return self._change(ctx, Project, project_id, expected_version, change)

    def set_story(self, ctx: CommandContext, project_id: str, expected_version: int | None, text: str,
                  min_length: int = 100, max_length: int = 280, now: datetime | None = None) -> Project:
        now = now or datetime.now(timezone.utc)
        limits = limits_for(ctx.role)

        def build() -> tuple[list[TenantAggregate], Project]:
            project = self.load(Project, project_id, ctx.tenant_id)
            project.check_not_deleted()
            project.check_version(expected_version)
            project.set_story(text, min_length, max_length,
                              max_scenes=limits["scenes_per_project"] if limits else None)
            usage = self._usage(ctx.tenant_id, now)
            usage.consume(ctx.role, {"story_chars": len(text)})
            return [project, usage], project

        return self._attempt(ctx, expected_version, build, keys=[project_id, self._usage_key(ctx.tenant_id, now)])

    def split_scene(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                    index: int, position: int) -> tuple[Project, list[str]]:
        limits = limits_for(ctx.role)
        return self.change_project(ctx, project_id, expected_version, lambda p: p.split_scene(
            index, position, max_scenes=limits["scenes_per_project"] if limits else None))

    def delete_project(self, ctx: CommandContext, project_id: str, expected_version: int | None) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.delete())
        return project

    def restore_project(self, ctx: CommandContext, project_id: str, expected_version: int | None) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.restore(), restoring=True)
        return project

    # -- jobs -----------------------------------------------------------------------------------
    def queue_job(self, ctx: CommandContext, project_id: str, config: dict[str, Any] | None = None,
                  now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate], Job]:
            project = self.load(Project, project_id, ctx.tenant_id)
            job_config = merge_config(project.config, config) if config else project.config
            generation, voice = job_config["generation"], job_config["voice"]
            chars, scenes = len(project.story or ""), len(project.scenes)
            job = Job(tenant_id=ctx.tenant_id, project_id=str(project.id), config=job_config,
                      estimate=estimate_cost(chars, scenes, generation["images_per_scene"]),
                      priority=1 if ctx.role in ("premium", "admin") else 0,
                      max_attempts=1 + generation["retry_attempts"],
                      timeout_seconds=generation["timeout_seconds"], queued_at=now.isoformat())
            project.queue_job(str(job.id))
            usage = self._usage(ctx.tenant_id, now)
            usage.consume(ctx.role, {"images": scenes * generation["images_per_scene"],
                                     "tts_minutes": tts_minutes(chars, voice["language"], voice["speed"])})
            return [job, project, usage], job

        return self._attempt(ctx, None, build, keys=[project_id, self._usage_key(ctx.tenant_id, now)])

    def claim_job(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None) -> Job | None:
        """Claim the first candidate still claimable; a job another worker claimed first is skipped."""
        now = now or datetime.now(timezone.utc)
        for job_id in candidates:
            try:
                job = self.load(Job, job_id, None)
                if not job.claimable(now):
                    continue
                project = self.load(Project, job.project_id, job.tenant_id)
                job.claim(worker_id=ctx.actor_id, now=now)
                project.job_started(str(job.id))
                self._save(ctx, job, project)
            except ConcurrentChange:
                self.evict(job, project)
                continue
            except IntegrityError:
                raise
            except Exception as e:  # noqa: BLE001 - the queue is every tenant's: one bad job is skipped
                self._skip_failed("job claim", job_id, e, None)
                continue
            return job
        return None

    def _job_change(self, ctx: CommandContext, job_id: str, tenant_id: str | None,
                    change: Callable[[Job, Project], R]) -> tuple[Job, R]:
        def build() -> tuple[list[TenantAggregate], tuple[Job, R]]:
            job = self.load(Job, job_id, tenant_id)
            project = self.load(Project, job.project_id, job.tenant_id)
            return [job, project], (job, change(job, project))

        return self._attempt(ctx, None, build, keys=[job_id])

    def report_progress(self, ctx: CommandContext, job_id: str, step: str, percentage: float,
                        now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id)
            job.report_progress(step, percentage, now)

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def complete_job(self, ctx: CommandContext, job_id: str, cost_actual: float | None,
                     now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id)
            job.complete(cost_actual, now)
            project.job_ended(str(job.id), "succeeded")

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def fail_job(self, ctx: CommandContext, job_id: str, *, code: str, message: str, retryable: bool,
                 details: dict[str, Any] | None = None, now: datetime | None = None,
                 jitter: float | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.check_claimed_by(ctx.actor_id)
            requeued = job.fail(code, message, retryable, now, self._jitter(jitter), details)
            if not requeued:
                project.job_ended(str(job.id), "failed")

        job, _ = self._job_change(ctx, job_id, None, change)
        return job

    def cancel_job(self, ctx: CommandContext, job_id: str, now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.cancel(now)
            project.job_ended(str(job.id), "cancelled")

        job, _ = self._job_change(ctx, job_id, ctx.tenant_id, change)
        return job

    def retry_job(self, ctx: CommandContext, job_id: str, from_step: str | None = None,
                  now: datetime | None = None) -> Job:
        now = now or datetime.now(timezone.utc)

        def change(job: Job, project: Project) -> None:
            job.retry(from_step, now)
            project.queue_job(str(job.id))

        job, _ = self._job_change(ctx, job_id, ctx.tenant_id, change)
        return job

    def sweep_timeouts(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None,
                       skipped: set[Any] | None = None) -> int:
        """Fail every candidate running job that stopped reporting; safe to run concurrently.
        A job that cannot be timed out is logged, counted, added to `skipped` and left for the next run."""
        now = now or datetime.now(timezone.utc)
        failed = 0
        for job_id in candidates:
            try:
                job = self.load(Job, job_id, None)
                if job.status != "running" or job.heartbeat_at is None or (
                        now - datetime.fromisoformat(job.heartbeat_at)).total_seconds() <= job.timeout_seconds:
                    continue
                project = self.load(Project, job.project_id, job.tenant_id)
                if not job.time_out(now, self._jitter(None)):
                    project.job_ended(str(job.id), "failed")
                self._save(ctx, job, project)
                failed += 1
            except ConcurrentChange:
                self.evict(job, project)
            except Exception as e:  # noqa: BLE001 - one bad job never stops the sweep of every tenant's
                self._skip_failed("job timeout sweep", job_id, e, skipped)
        return failed

    @staticmethod
    def _jitter(jitter: float | None) -> float:
        return jitter if jitter is not None else 0.5 + secrets.randbelow(501) / 1000

    # -- assets ---------------------------------------------------------------------------------
    def register_asset(self, ctx: CommandContext, *, type: str, uri: str, size_bytes: int | None = None,  # noqa: A002
                       metadata: dict[str, Any] | None = None, project_id: str | None = None,
                       job_id: str | None = None, scene_index: int | None = None,
                       expires_at: datetime | None = None, now: datetime | None = None) -> Asset:
        now = now or datetime.now(timezone.utc)

        def build() -> tuple[list[TenantAggregate | None], Asset]:
            project = None
            if project_id is not None:
                try:
                    project = self.load(Project, project_id, ctx.tenant_id)
                    project.check_not_deleted()
                except NotFound:
                    raise NotFound("project not found", field="project_id") from None
            if job_id is not None:
                try:
                    self.load(Job, job_id, ctx.tenant_id)
                except NotFound:
                    raise NotFound("job not found", field="job_id") from None
            asset = Asset.register(tenant_id=ctx.tenant_id, type=type, uri=uri, size_bytes=size_bytes,
                                   metadata=metadata, project_id=project_id, job_id=job_id,
                                   scene_index=scene_index, expires_at=expires_at, now=now)
            if project is not None and scene_index is not None and type == "image":
                project.attach_scene_image(scene_index, str(asset.id))
            return [asset, project], asset

        return self._attempt(ctx, None, build)

    def delete_asset(self, ctx: CommandContext, asset_id: str, expected_version: int | None) -> Asset:
        asset, _ = self._change(ctx, Asset, asset_id, expected_version, lambda a: a.delete())
        return asset

    def restore_asset(self, ctx: CommandContext, asset_id: str, expected_version: int | None) -> Asset:
        asset, _ = self._change(ctx, Asset, asset_id, expected_version, lambda a: a.restore(), restoring=True)
        return asset

    def restore_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None) -> Preset:
        self._own_preset(preset_id)
        preset, _ = self._change(ctx, Preset, preset_id, expected_version, lambda p: p.restore(), restoring=True)
        return preset

    def expire_assets(self, ctx: CommandContext, candidates: Iterable[UUID], now: datetime | None = None,
                      skipped: set[Any] | None = None) -> int:
        """Append Expired to every candidate past its expiry, exactly once even under concurrent sweeps.
        An asset that cannot be expired is logged, counted, added to `skipped` and left for the next run."""
        now = now or datetime.now(timezone.utc)
        expired = 0
        for asset_id in candidates:
            try:
                asset = self.load(Asset, asset_id, None)
                if not asset.is_due(now):
                    continue
                asset.expire(now)
                self._save(ctx, asset)
                expired += 1
            except ConcurrentChange:
                self.evict(asset)
            except Exception as e:  # noqa: BLE001 - one bad asset never stops the sweep of every tenant's
                self._skip_failed("asset expiry sweep", asset_id, e, skipped)
        return expired

    # -- presets --------------------------------------------------------------------------------
    def create_preset(self, ctx: CommandContext, *, name: str, config: dict[str, Any],
                      is_default: bool = False) -> Preset:
        def build() -> tuple[list[TenantAggregate | None], Preset]:
            preset = Preset.create(tenant_id=ctx.tenant_id, name=name, config=config)
            user = None
            if is_default:
                user = self.load(User, ctx.tenant_id, ctx.tenant_id)
                user.choose_default_preset(str(preset.id))
            return [preset, user], preset

        return self._attempt(ctx, None, build)

    @staticmethod
    def _own_preset(preset_id: str) -> None:
        if preset_id in BUILTIN_IDS:
            raise Forbidden("built-in presets cannot be changed or deleted")

    def change_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None,
                      change: Callable[[Preset], R]) -> Preset:
        self._own_preset(preset_id)
        preset, _ = self._change(ctx, Preset, preset_id, expected_version, change)
        return preset

    def delete_preset(self, ctx: CommandContext, preset_id: str, expected_version: int | None) -> Preset:
        self._own_preset(preset_id)

        def build() -> tuple[list[TenantAggregate], Preset]:
            preset = self.load(Preset, preset_id, ctx.tenant_id)
            preset.check_not_deleted()
            preset.check_version(expected_version)
            preset.delete()
            user = self.load(User, ctx.tenant_id, ctx.tenant_id)
            if user.default_preset_id == preset_id:
                user.choose_default_preset(None)
            return [preset, user], preset

        return self._attempt(ctx, expected_version, build)

    def choose_default_preset(self, ctx: CommandContext, preset_id: str) -> User:
        def build() -> tuple[list[TenantAggregate], User]:
            if preset_id not in BUILTIN_IDS:
                preset = self.load(Preset, preset_id, ctx.tenant_id)
                preset.check_not_deleted()
            user = self.load(User, ctx.tenant_id, ctx.tenant_id)
            user.choose_default_preset(preset_id)
            return [user], user

        return self._attempt(ctx, None, build)

    # -- admin access ---------------------------------------------------------------------------
    def record_access(self, ctx: CommandContext, tenant_id: str, *, action: str, resource: str,
                      details: dict[str, Any] | None = None) -> Access:
        """Put an admin's read of `tenant_id`'s data on that tenant's audit trail (actor: the admin)."""
        access = Access(tenant_id=tenant_id, action=action, resource=resource, details=details or {})
        self._save(ctx.for_tenant(tenant_id), access)
        return access
