"""What every aggregate of a tenant shares: the owner, soft delete, and the version checks."""
from __future__ import annotations

from copy import copy as _copy
from copy import deepcopy as _deepcopy
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, NotFound, StaleVersion

# The caller expects any current version (HTTP's `*`, RFC 9110 §13.1.1). Versions start at 1, so 0 names none.
ANY_VERSION = 0


class TenantAggregate(Aggregate):
    """An aggregate owned by exactly one tenant (the deletable ones: `DeletableAggregate` below)."""

    # Plain class attributes, not annotations: the library would turn annotations into
    # constructor arguments of every Created event.
    tenant_id = ""
    deleted = False

    @property
    def deleted_at(self) -> datetime | None:
        # A deleted aggregate accepts no event but Restored, so its last change is the deletion.
        return self.modified_on if self.deleted else None

    def check_owner(self, tenant_id: str) -> None:
        if self.tenant_id != tenant_id:
            raise NotFound(f"{type(self).__name__.lower()} not found")

    def check_version(self, expected: int | None) -> None:
        if expected == ANY_VERSION:
            # `*` matches any current representation; a soft-deleted one has none (GET answers 404).
            if self.deleted:
                raise StaleVersion(f"any current version was expected but the {type(self).__name__.lower()} is deleted")
            return
        if expected is not None and expected != self.version:
            raise StaleVersion(
                f"version {expected} is stale: the current version is {self.version}")

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise NotFound(f"{type(self).__name__.lower()} not found")

    # Stored schema, read only: logs written before per-aggregate events hold
    # `domain.shared:TenantAggregate.Deleted` / `.Restored` for projects, assets and presets.
    # These classes keep that topic resolving and folding (any aggregate); nothing emits them.
    @event("Deleted")
    def _legacy_deleted(self) -> None:
        self.deleted = True

    @event("Restored")
    def _legacy_restored(self) -> None:
        self.deleted = False


class DeletableAggregate(TenantAggregate):
    """A tenant's aggregate that is deleted softly and can be restored.

    `Deleted` and `Restored` are declared here once; the library redefines them on every subclass,
    so each aggregate records its own `<Aggregate>.Deleted` / `.Restored` (topic
    `domain.<module>:<Aggregate>.Deleted`): an event names what happened to what
    (docs/decisions/i12-events.md, i12-tidy.md). They replace, in this class, the legacy
    `TenantAggregate.Deleted` / `.Restored` above, which stay readable on `TenantAggregate`."""

    class Deleted(Aggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = True

    class Restored(Aggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = False

    def delete(self) -> None:
        self.check_not_deleted()
        self.trigger_event(self.Deleted)

    def restore(self) -> None:
        if not self.deleted:
            raise Conflict(f"{type(self).__name__.lower()} is not deleted")
        self.trigger_event(self.Restored)


LEGACY_DELETED_TOPIC = "domain.shared:TenantAggregate.Deleted"
LEGACY_RESTORED_TOPIC = "domain.shared:TenantAggregate.Restored"


def event_type(topic: str) -> str:
    """'domain.projects:Project.Renamed' -> 'Project.Renamed'."""
    return topic.rsplit(":", 1)[-1]


_PLAIN = frozenset({str, int, float, bool, type(None)})  # exactly these types: `_leaf` returns them as they are


def _leaf(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "hex") and type(value).__name__ == "UUID":
        return str(value)
    return value


def jsonable(value: Any) -> Any:
    """The value with datetimes and UUIDs as strings and tuples as lists, copied without recursion:
    stored payloads may nest deeper than the reader's stack (docs/decisions/i11-readers.md)."""
    if not isinstance(value, (dict, list, tuple)):
        return _leaf(value)
    root: list[Any] = [None]
    todo: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while todo:
        source, target, key = todo.pop()
        if isinstance(source, dict):
            copy: Any = {}
            for k, v in source.items():
                if type(v) in _PLAIN:  # most leaves: no conversion (the audit page's cost, issue 17)
                    copy[k] = v
                elif isinstance(v, (dict, list, tuple)):
                    copy[k] = None
                    todo.append((v, copy, k))
                else:
                    copy[k] = _leaf(v)
        elif isinstance(source, (list, tuple)):
            copy = [None] * len(source)
            for i, v in enumerate(source):
                if type(v) in _PLAIN:
                    copy[i] = v
                elif isinstance(v, (dict, list, tuple)):
                    todo.append((v, copy, i))
                else:
                    copy[i] = _leaf(v)
        target[key] = copy
    return root[0]


def deep_copy(value: Any) -> Any:
    """`copy.deepcopy`, and for what nests deeper than the stack allows, an object's `__dict__`
    copied container by container without recursion (leaves still by `deepcopy`)."""
    try:
        return _deepcopy(value)
    except RecursionError:
        pass
    if isinstance(value, (dict, list, tuple, set)):
        return _copy_nested(value)
    new = _copy(value)
    if hasattr(new, "__dict__"):
        object.__setattr__(new, "__dict__", _copy_nested(value.__dict__))
    return new


def _copy_nested(value: Any) -> Any:
    root: list[Any] = [None]
    memo: dict[int, Any] = {}
    todo: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    finish: list[tuple[Any, Any, Any]] = []  # tuples and sets are built after their items
    while todo:
        source, target, key = todo.pop()
        t = type(source)
        if t is dict:
            copy: Any = {}
            for k, v in source.items():
                copy[k] = None
                todo.append((v, copy, k))
        elif t is list:
            copy = [None] * len(source)
            todo.extend((v, copy, i) for i, v in enumerate(source))
        elif t is tuple or t is set or t is frozenset:
            items = [None] * len(source)
            todo.extend((v, items, i) for i, v in enumerate(source))
            finish.append((t, items, (target, key)))
            continue
        else:
            copy = _deepcopy(source, memo)
        target[key] = copy
    for t, items, (target, key) in reversed(finish):
        target[key] = t(items)
    return root[0]
