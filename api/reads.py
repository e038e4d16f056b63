"""Reads on the event loop (issue 17): a project as it was at a version, folded from one round trip,
and a bounded cache of those answers that an erasure invalidates.

`GET /projects/{id}?at=<v>` used to take a thread and two read transactions (the snapshot, then the
events after it, each `BEGIN; set_config; SELECT; COMMIT`). Here it is one statement on the event
loop's read pool (api/services.py AsyncReads, scoped to the tenant): the nearest snapshot at or before
`v` and the events after it, folded by the application's own mapper and projector, as
`AvmApplication.load(..., version=v)` folds them.

Opening sealed personal fields needs the tenant's data key; reading it is a query (once a second, see
eventstore/datakeys.py). So the fold runs on the loop only while the key's answer is known without
the database (`DataKeys.known`), else in a thread, as before.

A version's state never changes, with one exception: erasure, after which its sealed fields read as
"[erased]". The cache of answers (`VersionCache`) is therefore only consulted while the tenant's data key
is known to this process and live: after an erasure in this process at once (`begin_erasure` marks the
tenant before the key is destroyed), after one in another process within the data keys' cache time
(AVM_DATA_KEY_CACHE_SECONDS, default 1 s): the same bound as the unsealing itself has. A tenant without a
data key (none of its fields was ever sealed) is never cached.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.errors import NotFound
from domain.plumbing import mutate_all

# The nearest snapshot at or before the version, then the events after it up to the version, in order.
# Events are read in the tenant's scope (row-level security) and name it, as every statement on a tenant table does;
# a snapshot (a table without a tenant) only when the aggregate's first event is the tenant's, so another tenant's
# id reads as nothing.
AT_VERSION_SQL = (
    "WITH s AS (SELECT originator_version, topic, state FROM snapshots"
    " WHERE originator_id = %(id)s AND originator_version <= %(v)s"
    " AND EXISTS (SELECT 1 FROM events e WHERE e.originator_id = %(id)s AND e.originator_version = 1"
    " AND e.tenant_id = %(t)s) ORDER BY originator_version DESC LIMIT 1),"
    # A join, not a subquery: row-level security keeps a bound computed by a subquery out of the index
    # condition (a filter then, over every earlier event: 11 ms at version 7,777), a join's is in it.
    " b AS MATERIALIZED (SELECT coalesce(max(originator_version), 0) AS gt FROM s)"
    # The events after the snapshot by a LATERAL subquery: a nested loop whose inner side is the key range scan
    # with the snapshot's version in its index condition, whatever the prepared statement's generic plan
    # estimates (a plain join let it pick a hash join or AND the range with the tenant's index, every event of
    # the tenant: 2.3 ms of PostgreSQL CPU a read in the suite). The tenant is compared on the rows found.
    " SELECT originator_version, topic, state FROM s"
    " UNION ALL (SELECT x.originator_version, x.topic, x.state FROM b CROSS JOIN LATERAL (SELECT e.originator_version,"
    " e.topic, e.state, e.tenant_id FROM events e WHERE e.originator_id = %(id)s AND e.originator_version > b.gt"
    " AND e.originator_version <= %(v)s ORDER BY e.originator_version OFFSET 0) x"
    " WHERE x.tenant_id = %(t)s"
    " ORDER BY x.originator_version)")
VERSION_AT_SQL = ("SELECT max(originator_version) AS v FROM events"
                  " WHERE originator_id = %s AND tenant_id = %s AND recorded_at <= %s")


def fold(services: Any, cls: type, tenant: UUID, aggregate_id: UUID, version: int, rows: list[Any]) -> Any:
    """The aggregate folded from AT_VERSION_SQL's rows, or the same NotFound as `load` + `aggregate_at`:
    missing, of another type, of another tenant, or without that version."""
    mapper = services.app.mapper
    events = [mapper.to_domain_event(StoredEvent(originator_id=aggregate_id, originator_version=r["originator_version"],
                                                 topic=r["topic"], state=bytes(r["state"]))) for r in rows]
    aggregate = mutate_all(None, events)
    name = cls.__name__.lower()
    if aggregate is None or not isinstance(aggregate, cls) or aggregate.tenant_id != str(tenant):
        raise NotFound(f"{name} not found")
    if aggregate.version != version:
        raise NotFound(f"{name} not found")
    return aggregate


async def aggregate_at(services: Any, reads: Any, cls: type, tenant: UUID, aggregate_id: UUID,
                       when: int | datetime) -> Any:
    """`api.http.aggregate_at` on the event loop: one round trip (two for a time: two reads), folded on the loop while the
    tenant's data key is known, else in a thread."""
    import anyio

    if isinstance(when, datetime):
        found = await reads.fetch(tenant, VERSION_AT_SQL, (aggregate_id, tenant, when))
        if not found or found[0]["v"] is None:
            raise NotFound(f"{cls.__name__.lower()} not found")
        when = int(found[0]["v"])
    rows = await reads.fetch(tenant, AT_VERSION_SQL, {"id": aggregate_id, "v": when, "t": tenant})
    if services.data_keys is not None and not services.data_keys.known(tenant):
        return await anyio.to_thread.run_sync(fold, services, cls, tenant, aggregate_id, when, rows)
    return fold(services, cls, tenant, aggregate_id, when, rows)


class KeyGated:
    """A bounded LRU map of answers that hold a tenant's opened personal fields: consulted only while the
    tenant's data key is known to this process and live (see the module doc); an erased tenant's go."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def usable(services: Any, tenant: UUID) -> bool:
        keys = services.data_keys
        # `known` first: then for_reading answers from memory, never the database.
        return keys is not None and keys.known(tenant) and keys.for_reading(tenant) is not None

    def _erased(self, services: Any, tenant: UUID) -> None:
        if services.data_keys is not None and services.data_keys.known(tenant):
            self.forget(tenant)  # known, and no live key: erased (or being erased)

    def get(self, services: Any, tenant: UUID, *key: Any) -> Any:
        if not self.usable(services, tenant):
            self._erased(services, tenant)
            return None
        with self._lock:
            value = self._entries.get((tenant, *key))
            if value is not None:
                self._entries.move_to_end((tenant, *key))
            return value

    def put(self, services: Any, tenant: UUID, *key_and_value: Any) -> None:
        if not self.usable(services, tenant):
            self._erased(services, tenant)  # erased meanwhile (e.g. by another process): its answers go too
            return
        *key, value = key_and_value
        with self._lock:
            self._entries[(tenant, *key)] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, tenant: UUID) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == tenant]:
                del self._entries[key]


class PayloadCache(KeyGated):
    """Audit pages: an event's `data` as the API shows it, keyed by the tenant and the stored bytes themselves
    (not the position): what is shown is always what is stored, a row altered behind the log's back included.
    Opening and converting a page's 50 payloads was most of the page's CPU (docs/decisions/i17-read.md)."""

    def __init__(self, size: int = 4096) -> None:
        super().__init__(size)

    def data(self, services: Any, tenant: UUID, row: dict[str, Any], decode: Any) -> Any:
        from projections.history import event_data

        state = bytes(row["state"])
        data = self.get(services, tenant, state)
        if data is None:
            data = event_data(row, decode)
            if "_undecodable" not in data:
                self.put(services, tenant, state, data)
        return data


class VersionCache(KeyGated):
    """Answers at a version, keyed by (tenant, id, version), the `size` most recently used."""

    def __init__(self, size: int = 2048) -> None:
        super().__init__(size)
