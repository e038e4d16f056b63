"""Daily quotas: the limits per role, and the per-tenant, per-day Usage aggregate that enforces them."""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.errors import QuotaExceeded
from domain.shared import TenantAggregate

LIMITS: dict[str, dict[str, int]] = {
    "user": {"projects": 3, "scenes_per_project": 20, "story_chars": 10_000, "images": 50, "tts_minutes": 10},
    "premium": {"projects": 50, "scenes_per_project": 100, "story_chars": 100_000, "images": 500,
                "tts_minutes": 120},
}
DAILY = ("projects", "story_chars", "images", "tts_minutes")
# Narration speed used to turn story characters into TTS minutes (characters per minute at speed 1.0).
CHARS_PER_MINUTE = {"zh-TW": 250, "en": 900}


def limits_for(role: str) -> dict[str, int] | None:
    """The role's limits; None means unlimited (admins)."""
    if role == "admin":
        return None
    return LIMITS["premium" if role == "premium" else "user"]


def resets_at(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)


def tts_minutes(chars: int, language: str, speed: float) -> int:
    if chars <= 0:
        return 0
    return math.ceil(chars / (CHARS_PER_MINUTE.get(language, 250) * speed))


def check_scene_limit(role: str, scene_count: int) -> None:
    limits = limits_for(role)
    if limits is not None and scene_count > limits["scenes_per_project"]:
        raise QuotaExceeded(
            f"{scene_count} scenes is over the limit of {limits['scenes_per_project']} scenes per project",
            field="text", quota="scenes_per_project", limit=limits["scenes_per_project"], resets_at=None)


class Usage(TenantAggregate):
    """What one tenant consumed on one UTC day.

    Lifecycle: Opened on the first consumption of the day, then Consumed events.
    Invariant: no counter goes over the role's daily limit. Every command that
    consumes quota saves this aggregate in its own transaction, so concurrent
    commands are serialised by its version: at most one of them wins the last unit.
    """

    @staticmethod
    def create_id(tenant_id: str, day: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"avm:usage:{tenant_id}:{day}")

    @event("Opened")
    def __init__(self, tenant_id: str, day: str) -> None:
        self.tenant_id = tenant_id
        self.day = day
        self.used: dict[str, int] = {}

    def consume(self, role: str, amounts: dict[str, int]) -> None:
        limits = limits_for(role)
        amounts = {k: v for k, v in amounts.items() if v > 0}
        if not amounts or limits is None:
            # Admins are not limited; not counting them also keeps them off this hot aggregate.
            return
        if limits is not None:
            for quota, amount in amounts.items():
                used = self.used.get(quota, 0)
                if used + amount > limits[quota]:
                    reset = resets_at(date.fromisoformat(self.day))
                    raise QuotaExceeded(
                        f"daily quota {quota} exceeded: {used} used + {amount} requested > {limits[quota]};"
                        f" resets at {reset.isoformat()}",
                        quota=quota, limit=limits[quota], resets_at=reset.isoformat())
        self._consume(amounts=amounts)

    @event("Consumed")
    def _consume(self, amounts: dict[str, int]) -> None:
        for quota, amount in amounts.items():
            self.used[quota] = self.used.get(quota, 0) + amount

    def view(self, role: str) -> dict[str, Any]:
        limits = limits_for(role)
        return usage_view(self.day, self.used, limits)


def usage_view(day: str, used: dict[str, int], limits: dict[str, int] | None) -> dict[str, Any]:
    return {
        "day": day,
        "resets_at": resets_at(date.fromisoformat(day)).isoformat(),
        "quotas": {q: {"used": used.get(q, 0), "limit": None if limits is None else limits[q]} for q in DAILY},
        "scenes_per_project": None if limits is None else limits["scenes_per_project"],
    }
