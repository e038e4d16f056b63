"""Given events / when command / then events (or error): Emmett-style specifications for aggregates.

No database and no clock: events are folded with ``event.mutate``, and assertions look
only at an event's type name and the attributes a specification names, never at
timestamps.

    events = history(Project.create(tenant_id=T, title="Night train"))
    project = given(*events)
    then(when(project, lambda p: p.rename("Day train")), Recorded("Renamed", title="Day train"))

    with then_raises(ValidationProblem, field="title"):
        when(project, lambda p: p.rename(""))
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, Mapper, UUIDAsHex

from eventstore.transcoder import MsgspecTranscoder

Event = Any
Command = Callable[[Any], Any]

_ANY: Any = object()


# -- given ------------------------------------------------------------------------------------
def history(aggregate: Any, *commands: Command) -> list[Event]:
    """The events of an aggregate made by its public factory, then those of each command in turn."""
    events = list(aggregate.collect_events())
    for command in commands:
        command(aggregate)
        events += aggregate.collect_events()
    return events


def given(*events: Event) -> Any:
    """A fresh aggregate folded from the events (the first must be its creation event).

    Events are copied first, so the aggregate shares no mutable value with whatever
    recorded them: a handler that mutated a shared dict would otherwise go unnoticed.
    """
    if not events:
        raise AssertionError("given() needs at least the creation event")
    aggregate: Any = None
    for event in events:
        aggregate = copy.deepcopy(event).mutate(aggregate)
    assert not aggregate.pending_events, "folding events must not record new ones"
    return aggregate


def store_mapper() -> Mapper[Any]:
    """The library's mapper with the application's transcoder: events to and from stored rows."""
    transcoder = MsgspecTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def stored(events: Sequence[Event]) -> list[Event]:
    """The events as they come back from an event store: through the application's transcoder."""
    mapper = store_mapper()
    return [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]


# -- when -------------------------------------------------------------------------------------
def when(aggregate: Any, command: Command) -> list[Event]:
    """Run a command on the aggregate and return the events it recorded.

    When the command raises, the events it recorded anyway travel on the error as
    ``recorded`` so that ``then_raises`` can check a refusal left nothing behind.
    """
    if aggregate.pending_events:
        raise AssertionError(f"uncollected events before when(): {names(aggregate.pending_events)}")
    try:
        command(aggregate)
    except Exception as error:
        error.recorded = list(aggregate.collect_events())  # type: ignore[attr-defined]
        raise
    return list(aggregate.collect_events())


def when_new(factory: Callable[[], Any]) -> list[Event]:
    """Run a creating command (a public factory) on an empty history and return its events."""
    try:
        aggregate = factory()
    except Exception as error:
        error.recorded = []  # type: ignore[attr-defined]  # nothing exists yet, so nothing was recorded
        raise
    return list(aggregate.collect_events())


# -- then -------------------------------------------------------------------------------------
class Recorded:
    """An expected event: its type name and the attributes worth checking (others are ignored)."""

    # Positional-only, so an event attribute named `type` (Asset.Registered) can be checked too.
    def __init__(self, type: str, /, **attrs: Any) -> None:  # noqa: A002 - mirrors type(e).__name__
        self.type = type
        self.attrs = attrs

    def __repr__(self) -> str:
        return f"Recorded({self.type!r}, {self.attrs!r})"


def names(events: Sequence[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def then(events: Sequence[Event], *expected: Recorded | str) -> None:
    """Assert the events recorded are exactly the expected ones, in order; none expected = none recorded."""
    specs = [Recorded(e) if isinstance(e, str) else e for e in expected]
    # This module is not rewritten by pytest, so every assertion spells out its own message.
    assert names(events) == [s.type for s in specs], (
        f"recorded {names(events)}, expected {[s.type for s in specs]}")
    for number, (recorded, spec) in enumerate(zip(events, specs)):
        actual = {k: getattr(recorded, k, _Missing(k)) for k in spec.attrs}
        wrong = {k: (actual[k], v) for k, v in spec.attrs.items() if actual[k] != v}
        assert not wrong, f"event {number} ({spec.type}) attributes as (recorded, expected): {wrong!r}"


def then_nothing(events: Sequence[Event]) -> None:
    """Assert the command was a no-op: it recorded no event."""
    assert names(events) == [], f"expected no event, recorded {names(events)}"


class _Missing:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<no attribute {self.name!r}>"


@contextmanager
def then_raises(error: type[Exception], *, field: str | None = _ANY, **extra: Any) -> Iterator[None]:
    """Assert the block raises exactly this domain error (naming `field`) and records no event.

    The command must run through ``when`` (which attaches what it recorded to the error).
    """
    try:
        yield
    except Exception as raised:
        assert type(raised) is error, f"expected {error.__name__}, got {type(raised).__name__}: {raised}"
        if field is not _ANY:
            assert getattr(raised, "field", None) == field, f"field {getattr(raised, 'field', None)!r} != {field!r}"
        for key, value in extra.items():
            assert getattr(raised, "extra", {}).get(key) == value, f"extra {key!r}: {raised.extra!r}"
        recorded = getattr(raised, "recorded", None)
        assert recorded is not None, "run the command through when() so its events can be checked"
        assert names(recorded) == [], f"a refused command recorded {names(recorded)}"
    else:
        raise AssertionError(f"expected {error.__name__}, nothing was raised")


def then_replays(aggregate: Any, events: Sequence[Event], state: Callable[[Any], Any]) -> None:
    """Assert the events rebuild the aggregate: folded as recorded, and after an event-store round trip.

    This is the property every event handler must have: all state comes from events.
    """
    for label, replayed in (("recorded", given(*events)), ("stored", given(*stored(events)))):
        assert replayed.version == aggregate.version, (
            f"version rebuilt from {label} events: {replayed.version} != {aggregate.version}")
        assert state(replayed) == state(aggregate), (
            f"state rebuilt from {label} events differs:\n  rebuilt {state(replayed)!r}\n  live    {state(aggregate)!r}")
