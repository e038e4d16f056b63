"""The registry of inline projections, and the same-transaction writes the recorder runs for a save."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from projections.assets import AssetsProjection
from projections.base import InlineProjection
from projections.jobs import JobsProjection
from projections.presets import PresetsProjection
from projections.projects import ProjectsProjection, ScenesProjection
from projections.sessions import SessionsProjection
from projections.usage import UsageProjection
from projections.users import UsersProjection

INLINE_PROJECTIONS: tuple[InlineProjection, ...] = (
    UsersProjection(), ProjectsProjection(), ScenesProjection(), JobsProjection(), AssetsProjection(),
    PresetsProjection(), UsageProjection(), SessionsProjection(),
)
BY_NAME = {p.name: p for p in INLINE_PROJECTIONS}


def writes_for(aggregates: Iterable[Any], topics: Iterable[str] = ()) -> list[Any]:
    """The writes that bring every inline read model up to date with these saved aggregates
    (`topics`: of the events being saved, so a projection they do not touch is skipped)."""
    event_types = frozenset(t.rsplit(":", 1)[-1] for t in topics) or None
    writes = []
    for agg in aggregates:
        # Created by this command (every event of it is pending): no event of it is stored, so no row
        # of it exists to replace (its events' insert fails the command if the id was taken after all).
        fresh = bool(agg.pending_events) and agg.version == len(agg.pending_events)
        for projection in INLINE_PROJECTIONS:
            if isinstance(agg, projection.handles):
                writes.append(lambda curs, p=projection, a=agg, f=fresh: p.write(curs, a, event_types, fresh=f))
    return writes


def select(names: Sequence[str] | None) -> list[InlineProjection]:
    if not names:
        return list(INLINE_PROJECTIONS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"unknown projection: {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return [BY_NAME[n] for n in names]
