"""The registry of inline projections, and the same-transaction writes the recorder runs for a save."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from projections.assets import AssetsProjection
from projections.base import InlineProjection
from projections.jobs import JobsProjection
from projections.presets import PresetsProjection
from projections.projects import ProjectsProjection, ScenesProjection
from projections.usage import UsageProjection
from projections.users import UsersProjection

INLINE_PROJECTIONS: tuple[InlineProjection, ...] = (
    UsersProjection(), ProjectsProjection(), ScenesProjection(), JobsProjection(), AssetsProjection(),
    PresetsProjection(), UsageProjection(),
)
BY_NAME = {p.name: p for p in INLINE_PROJECTIONS}


def writes_for(aggregates: Iterable[Any], topics: Iterable[str] = ()) -> list[Any]:
    """The writes that bring every inline read model up to date with these saved aggregates
    (`topics`: of the events being saved, so a projection they do not touch is skipped)."""
    event_types = frozenset(t.rsplit(":", 1)[-1] for t in topics) or None
    writes = []
    for agg in aggregates:
        for projection in INLINE_PROJECTIONS:
            if isinstance(agg, projection.handles):
                writes.append(lambda curs, p=projection, a=agg: p.write(curs, a, event_types))
    return writes


def select(names: Sequence[str] | None) -> list[InlineProjection]:
    if not names:
        return list(INLINE_PROJECTIONS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"unknown projection: {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return [BY_NAME[n] for n in names]
