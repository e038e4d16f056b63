"""What every command of the application stands on, and no command decides: the repository and
its aggregate cache, loading with the tenant check, one save per command (one transaction),
striped per-aggregate locks, and the one conflict → evict → back off → retry loop."""
from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, Repository
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.utils import get_topic

from domain.context import CommandContext
from domain.errors import CommandAlreadyApplied, ConcurrentChange, Conflict, DomainProblem, NotFound, StaleVersion
from domain.shared import ANY_VERSION, TenantAggregate, deep_copy

A = TypeVar("A", bound=TenantAggregate)
R = TypeVar("R")

# A same-transaction write a command brings along (a plain statement on the recorder's cursor).
Write = Callable[[Any], None]
# What `build` gives `retry_on_conflict`: the aggregates to save (None: not involved) and the result.
Build = Callable[[], tuple[Sequence[TenantAggregate | None], R]]

MAX_CONFLICT_RETRIES = 16
log = logging.getLogger("avm.sweeps")


_NOT_RECORDED = object()


def encode_result(result: Any) -> bytes:
    """What a command returned, to be recorded with its key: each aggregate as a reference (its
    type, id and the version the command left it at), lists and plain values as they are."""
    def value(v: Any) -> Any:
        if isinstance(v, TenantAggregate):
            return {"type": get_topic(type(v)), "id": str(v.id), "version": v.version}
        if isinstance(v, (list, tuple)):
            return [value(x) for x in v]
        if v is None or isinstance(v, (str, int, float)):
            return v
        raise TypeError(f"a command result cannot hold a {type(v).__name__}")

    return msgspec.json.encode(value(result))


def mutate_all(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance` check against a
    runtime Protocol, which cost a third of the CPU of folding a stream (`?at=`). Every event of
    our aggregates is a library aggregate event, which has `mutate`."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class AvmRepository(Repository[UUID]):
    """The library's repository, folding events with `mutate_all` unless told otherwise, and
    copying a cached aggregate with `deep_copy` (no depth limit) instead of `deepcopy`.

    Fast-forward: a cached aggregate brought up to date with the events stored after its version (one
    read) before it is used. With several processes writing, a copy cached by one is stale whenever
    another wrote since (decisions/i17-multi.md). Always with `fastforward`
    (AGGREGATE_CACHE_FASTFORWARD=y); with `refresh_on_failure` (AVM_CACHE_REFRESH_ON_FAILURE=1, which
    `avm serve --workers N` sets) for the loads that ask and within `fast_forwarding()`: the retry loop
    runs a command again that way when its save met a newer version or a check failed on a copy served
    from the cache.
    Unlike the library's fast-forward, the cached object is never folded in place (a thread may be
    copying it): the copy is, and the cache is given a copy of the result."""

    refresh_on_failure = False
    _local = threading.local()

    @contextmanager
    def fast_forwarding(self, on: bool) -> Iterator[list[int]]:
        """Loads of this thread fast-forward within the block when `on`; yields a one-item counter of the
        copies served from the cache without a fast-forward (a check on them may have read the past)."""
        before = getattr(self._local, "on", False), getattr(self._local, "unchecked", None)
        self._local.on, self._local.unchecked = on, [0]
        try:
            yield self._local.unchecked
        finally:
            self._local.on, self._local.unchecked = before

    def get(self, aggregate_id: UUID, *, version: int | None = None,  # type: ignore[override]
            projector_func: Any = mutate_all, deepcopy_from_cache: bool = True, fast_forward: bool = False,
            **kwargs: Any) -> Any:
        cache = self.cache
        fast_forward = fast_forward or self.fastforward or getattr(self._local, "on", False)
        if cache is not None and version is None and not fast_forward and self.refresh_on_failure:
            unchecked = getattr(self._local, "unchecked", None)
            if unchecked is not None and aggregate_id in cache.cache:
                unchecked[0] += 1
        if fast_forward and cache is not None and version is None:
            try:
                cached = cache.get(aggregate_id)
            except KeyError:
                aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
                cache.put(aggregate_id, aggregate)
                return deep_copy(aggregate) if deepcopy_from_cache and self.deepcopy_from_cache else aggregate
            newer = list(self.event_store.get(originator_id=aggregate_id, gt=cached.version))
            if not newer:
                return deep_copy(cached) if deepcopy_from_cache and self.deepcopy_from_cache else cached
            aggregate = projector_func(deep_copy(cached), newer)
            if aggregate is None:
                raise AggregateNotFoundError(aggregate_id)
            try:
                current = cache.get(aggregate_id).version
            except KeyError:
                current = -1
            if current < aggregate.version:  # not overtaken by a save meanwhile
                cache.put(aggregate_id, deep_copy(aggregate))
            return aggregate
        copy = deepcopy_from_cache and self.deepcopy_from_cache and bool(cache) and version is None
        aggregate = super().get(aggregate_id, version=version, projector_func=projector_func,
                                deepcopy_from_cache=False, **kwargs)
        return deep_copy(aggregate) if copy else aggregate


def backoff(attempt: int) -> None:
    """Back off a little (with jitter) so contenders stop colliding in lock-step."""
    time.sleep(min(0.05, 0.001 * 2 ** attempt) * (0.5 + secrets.randbelow(1000) / 1000))


class Plumbing(Application[UUID]):
    """The application's machinery; the commands (domain/commands/) are written on top of it."""

    def construct_repository(self) -> Repository[UUID]:
        library = super().construct_repository()  # the library's settings, read from the environment
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        repository = AvmRepository(event_store=library.event_store, snapshot_store=library.snapshot_store,
                                   cache_maxsize=int(maxsize) if maxsize else None,
                                   fastforward=library.fastforward, fastforward_skipping=library.fastforward_skipping,
                                   deepcopy_from_cache=library.deepcopy_from_cache)
        refresh = self.env.get("AVM_CACHE_REFRESH_ON_FAILURE", "0")
        if refresh not in ("0", "1"):  # a typo ("true") must not quietly leave several processes answering stale
            raise ValueError(f"AVM_CACHE_REFRESH_ON_FAILURE must be 0 or 1, not {refresh!r}")
        repository.refresh_on_failure = refresh == "1"
        return repository

    # Told (sweep, item id, error) when one item of a sweep or of the work queue fails and is
    # skipped; the composition root counts it (api/controllers/metrics.py).
    item_failed: Callable[[str, Any, BaseException], None] | None = None
    # Whether an error means the database is unavailable (then the whole run stops, not the item).
    is_outage: Callable[[BaseException], bool] | None = None
    # The same-transaction writes that bring the inline read models up to date with the saved
    # aggregates, given the topics of their new events; the composition root wires the projections
    # (api/composition.py). The recorder runs the writes; it never sees an aggregate.
    inline_writes: Callable[[Sequence[Any], Sequence[str]], list[Any]] | None = None
    # The same-transaction writes of a command the caller keyed, given its encoded result, when the
    # command appends events (the key and the result, api/idempotency.py); wired by the composition root.
    command_writes: Callable[[CommandContext, bytes], list[Any]] | None = None
    # Told each time a command's save met a conflict (a newer version of one of its aggregates, or its
    # key, saved first), after which it is run again; the composition root counts it on /metrics.
    conflict_retried: Callable[[], None] | None = None
    # The encoded result a keyed command recorded, read afresh (None: its key is not recorded), for a
    # command whose save met its key recorded by a concurrent twin; wired by the composition root.
    recorded_result: Callable[[CommandContext], bytes | None] | None = None

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

    def _save(self, ctx: CommandContext, *aggregates: TenantAggregate, result: Any = None,
              writes: Sequence[Write] = ()) -> None:
        """Save in one transaction: the events, the inline read models' writes, the command's own
        `writes` (e.g. a sealed model key, never in the log) and its idempotency key with `result`."""
        same_transaction: list[Any] = []
        if self.inline_writes is not None:
            same_transaction = self.inline_writes(
                aggregates, [get_topic(type(e)) for a in aggregates for e in a.pending_events])
        if self.command_writes is not None and ctx.fingerprint is not None and any(a.pending_events for a in aggregates):
            same_transaction += self.command_writes(ctx, encode_result(result))
        same_transaction += writes
        # A broken constraint arrives as the domain error the composition root gave it (EmailTaken,
        # CommandAlreadyApplied, ConcurrentChange): no constraint name is read here.
        self.save(
            *aggregates,
            meta=ctx,
            tenants={a.id: UUID(a.tenant_id) for a in aggregates},
            writes=same_transaction,
        )

    # -- the aggregate cache --------------------------------------------------------------------
    def _record(self, processing_event: Any) -> Any:
        """The library caches what a command saved only without fast-forward; with it, too (the next
        load then reads no events of this process's own)."""
        recordings = super()._record(processing_event)
        cache = self.repository.cache
        if cache is not None and self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                try:
                    current = cache.get(aggregate_id).version
                except KeyError:
                    current = -1
                if current < aggregate.version:
                    cache.put(aggregate_id, aggregate)
        return recordings

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

    # -- taking turns and retrying --------------------------------------------------------------
    _stripes = [threading.Lock() for _ in range(256)]

    def _stripe(self, key: Any) -> threading.Lock:
        """The lock commands of this process on `key` take turns on (see `_serialised`)."""
        return self._stripes[hash(str(key)) % len(self._stripes)]

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

    def retry_on_conflict(self, ctx: CommandContext, build: Build[R], *, expected_version: int | None = None,
                          keys: Iterable[Any] = (), writes: Sequence[Write] = ()) -> R:
        """Run `build` (load, check, change) and save what it returns in one transaction; when
        another command saved one of those aggregates first, evict the stale copies, back off, and
        run `build` again on fresh ones — unless the caller named the version it expected, which
        is then stale. `keys` name the aggregates whose commands in this process take turns; `writes`
        go with the save (none when nothing changed)."""
        if ctx.recorded is not None:
            return self._replayed(ctx.recorded)  # applied before: the same result, nothing appended
        if expected_version == ANY_VERSION:
            expected_version = None  # `*` pins no version: a concurrent change is retried as without one
        repository = self.repository
        fresh = repository.fastforward  # every load reads what other processes stored since
        # Several processes: loads use the cache as it is; a failure that a stale copy may explain (the
        # save met a newer version, a check failed on a cached copy) runs the command once more with
        # its loads fast-forwarded.
        lazy = repository.refresh_on_failure and repository.cache is not None and not fresh
        refresh = False
        with self._serialised(keys):
            for attempt in range(MAX_CONFLICT_RETRIES):
                if attempt:
                    # Fast-forwarded, the first retry loads what beat this attempt (committed: the
                    # events lock) and goes again at once; later ones back off (real contention).
                    if attempt > 1 or not (fresh or lazy):
                        backoff(attempt)
                    # A concurrent twin (same key) may be what this attempt collided with.
                    if (recalled := self._recall(ctx)) is not _NOT_RECORDED:
                        return recalled
                try:
                    with repository.fast_forwarding(refresh) as unchecked:
                        aggregates, result = build()
                except StaleVersion:
                    if attempt or repository.cache is None or fresh or (lazy and not unchecked[0]):
                        raise
                    if lazy:
                        refresh = True  # the cached copy may be the stale one: read what is newer
                    else:
                        self.forget_cached()  # the cached copy may be the stale one: read afresh
                    continue
                except DomainProblem:
                    if not lazy or refresh or not unchecked[0]:
                        raise
                    refresh = True  # a check on a copy another process may have changed: once more, fresh
                    continue
                changed = [a for a in aggregates if a is not None and a.pending_events]
                if not changed:
                    return result
                try:
                    self._save(ctx, *changed, result=result, writes=writes)
                    return result
                except ConcurrentChange:
                    if self.conflict_retried is not None:
                        self.conflict_retried()
                    if lazy:
                        refresh = True  # the next load reads only the events that beat it
                    elif not fresh:
                        self.evict(*changed)
                    if expected_version is not None:
                        if (recalled := self._recall(ctx)) is not _NOT_RECORDED:
                            return recalled
                        raise StaleVersion(
                            f"version {expected_version} is stale: another change was applied first") from None
                except CommandAlreadyApplied:
                    # A twin with the same key committed first: the next attempt returns its result
                    # (or, when the twin's transaction failed after all, applies this one).
                    if self.conflict_retried is not None:
                        self.conflict_retried()
                    self.evict(*changed)
        if expected_version is not None:
            raise StaleVersion("too many concurrent changes, try again")
        raise Conflict("too many concurrent changes to the same data, try again")

    # -- a keyed command applied twice returns the same result -----------------------------------
    def _recall(self, ctx: CommandContext) -> Any:
        """The result a concurrent twin of this keyed command recorded, or `_NOT_RECORDED`."""
        if self.recorded_result is None or ctx.fingerprint is None:
            return _NOT_RECORDED
        recorded = self.recorded_result(ctx)
        return _NOT_RECORDED if recorded is None else self._replayed(recorded)

    def _replayed(self, recorded: bytes) -> Any:
        """A recorded result (`encode_result`) as the command returned it: each aggregate as it was
        at the version the command left it, folded from its events (later changes do not show)."""
        def value(v: Any) -> Any:
            if isinstance(v, list):
                return [value(x) for x in v]
            if isinstance(v, dict):
                aggregate = self.repository.get(UUID(v["id"]), version=v["version"])
                if get_topic(type(aggregate)) != v["type"] or aggregate.version != v["version"]:
                    raise LookupError(f"recorded result names {v}, found {type(aggregate).__name__}")
                return aggregate
            return v

        return value(msgspec.json.decode(recorded))

    def _change(self, ctx: CommandContext, cls: type[A], aggregate_id: UUID | str,
                expected_version: int | None, change: Callable[[A], R],
                *, tenant_id: str | None = "ctx", restoring: bool = False,
                writes: Sequence[Write] = ()) -> tuple[A, R]:
        """Load one aggregate, check the version, apply `change`, save (with retries).
        A soft-deleted aggregate answers NotFound, as a read does, unless the change is its restore."""
        owner = ctx.tenant_id if tenant_id == "ctx" else tenant_id

        def build() -> tuple[list[TenantAggregate], tuple[A, R]]:
            agg = self.load(cls, aggregate_id, owner)
            if not restoring:
                agg.check_not_deleted()
            agg.check_version(expected_version)
            return [agg], (agg, change(agg))

        return self.retry_on_conflict(ctx, build, expected_version=expected_version, keys=[aggregate_id],
                                      writes=writes)

    def _sweep_item(self, ctx: CommandContext, sweep: str, item_id: Any, build: Build[R],
                    skipped: set[Any] | None, *, reraise: tuple[type[BaseException], ...] = ()) -> R | None:
        """One item of a sweep or of the work queue, as its own command (retried on a conflict:
        the fresh copy tells whether the item is still due). An item that fails otherwise is
        logged, counted, added to `skipped` and left for the next run (None)."""
        try:
            return self.retry_on_conflict(ctx, build)
        except reraise:
            raise
        except Exception as e:  # noqa: BLE001 - one bad item never stops the others, of every tenant
            self._skip_failed(sweep, item_id, e, skipped)
            return None
