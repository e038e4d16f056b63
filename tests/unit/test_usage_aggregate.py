"""Specifications of the Usage aggregate (a tenant's quotas on one UTC day) and the quota rules."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import QuotaExceeded
from domain.quotas import Usage, check_scene_limit, tts_minutes
from tests.unit.gwt import (
    Recorded,
    given,
    history,
    then,
    then_nothing,
    then_raises,
    then_replays,
    when,
    when_new,
)

TENANT = "4f7d2c1e-0000-4000-8000-000000000001"
DAY = "2026-01-31"
RESETS_AT = "2026-02-01T00:00:00+00:00"  # the next UTC midnight
# The daily limits of the reference, copied rather than imported from the code.
LIMITS = {
    "user": {"projects": 3, "story_chars": 10_000, "images": 50, "tts_minutes": 10},
    "premium": {"projects": 50, "story_chars": 100_000, "images": 500, "tts_minutes": 120},
}
QUOTAS = [(role, quota, limit) for role, limits in LIMITS.items() for quota, limit in limits.items()]


def opened(*commands: Callable[[Usage], Any]) -> list[Any]:
    return history(Usage(tenant_id=TENANT, day=DAY), *commands)


def consume(role: str = "user", **amounts: int) -> Callable[[Usage], Any]:
    return lambda u: u.consume(role, amounts)


def state(usage: Usage) -> tuple[Any, ...]:
    return (usage.tenant_id, usage.day, usage.used)


# -- identity ---------------------------------------------------------------------------------
def test_a_tenant_has_one_usage_per_day() -> None:
    assert Usage.create_id(TENANT, DAY) == Usage.create_id(TENANT, DAY)
    assert Usage.create_id(TENANT, DAY) != Usage.create_id(TENANT, "2026-02-01")
    assert Usage.create_id(TENANT, DAY) != Usage.create_id("4f7d2c1e-0000-4000-8000-000000000002", DAY)


def test_opening_a_day_records_opened_with_nothing_used() -> None:
    events = when_new(lambda: Usage(tenant_id=TENANT, day=DAY))

    then(events, Recorded("Opened", tenant_id=TENANT, day=DAY))
    assert given(*events).used == {}


# -- consume ----------------------------------------------------------------------------------
def test_consuming_records_the_amounts_and_adds_them_up_over_the_day() -> None:
    usage = given(*opened(consume(projects=1, story_chars=400)))

    then(when(usage, consume(projects=1, images=6)), Recorded("Consumed", amounts={"projects": 1, "images": 6}))
    assert usage.used == {"projects": 2, "story_chars": 400, "images": 6}


def test_zero_amounts_are_not_recorded_and_nothing_at_all_records_no_event() -> None:
    usage = given(*opened())

    then(when(usage, consume(images=0, tts_minutes=3)), Recorded("Consumed", amounts={"tts_minutes": 3}))
    then_nothing(when(usage, consume(images=0, tts_minutes=0)))


@pytest.mark.parametrize(("role", "quota", "limit"), QUOTAS)
def test_a_role_may_use_its_whole_daily_limit(role: str, quota: str, limit: int) -> None:
    usage = given(*opened(consume(role, **{quota: limit - 1})))

    then(when(usage, consume(role, **{quota: 1})), Recorded("Consumed", amounts={quota: 1}))
    assert usage.used[quota] == limit


@pytest.mark.parametrize(("role", "quota", "limit"), QUOTAS)
def test_going_over_a_daily_limit_is_refused_naming_the_quota_the_limit_and_the_reset(
        role: str, quota: str, limit: int) -> None:
    usage = given(*opened(consume(role, **{quota: limit})))

    with then_raises(QuotaExceeded, quota=quota, limit=limit, resets_at=RESETS_AT):
        when(usage, consume(role, **{quota: 1}))
    assert usage.used[quota] == limit


def test_a_command_over_one_quota_consumes_none_of_the_others() -> None:
    usage = given(*opened(consume(images=45)))

    with then_raises(QuotaExceeded, quota="images"):
        when(usage, consume(images=6, tts_minutes=1))
    assert usage.used == {"images": 45}


def test_an_admin_is_not_limited_and_not_counted() -> None:
    usage = given(*opened())

    then_nothing(when(usage, consume("admin", projects=1000, images=10_000)))
    assert usage.used == {}


def test_a_role_other_than_premium_or_admin_has_the_user_limits() -> None:
    with then_raises(QuotaExceeded, quota="projects", limit=3):
        when(given(*opened()), consume("worker", projects=4))


# -- what /me shows ---------------------------------------------------------------------------
def test_the_view_shows_every_daily_quota_with_its_use_limit_and_reset() -> None:
    usage = given(*opened(consume(projects=2, images=7)))

    assert usage.view("user") == {
        "day": DAY, "resets_at": RESETS_AT, "scenes_per_project": 20,
        "quotas": {"projects": {"used": 2, "limit": 3}, "story_chars": {"used": 0, "limit": 10_000},
                   "images": {"used": 7, "limit": 50}, "tts_minutes": {"used": 0, "limit": 10}},
    }


def test_the_view_of_an_admin_has_no_limits() -> None:
    view = given(*opened()).view("admin")

    assert view["scenes_per_project"] is None
    assert {q: v["limit"] for q, v in view["quotas"].items()} == dict.fromkeys(LIMITS["user"])


# -- the rules that size a consumption --------------------------------------------------------
@pytest.mark.parametrize(("chars", "language", "speed", "minutes"), [
    (0, "zh-TW", 1.0, 0), (250, "zh-TW", 1.0, 1), (251, "zh-TW", 1.0, 2), (500, "zh-TW", 2.0, 1),
    (900, "en", 1.0, 1), (901, "en", 1.0, 2), (900, "en", 0.5, 2)])
def test_tts_minutes_are_characters_over_the_language_rate_times_the_speed_rounded_up(
        chars: int, language: str, speed: float, minutes: int) -> None:
    assert tts_minutes(chars, language, speed) == minutes


@pytest.mark.parametrize(("role", "limit"), [("user", 20), ("premium", 100)])
def test_a_project_may_have_as_many_scenes_as_the_role_allows_and_no_more(role: str, limit: int) -> None:
    check_scene_limit(role, limit)
    with pytest.raises(QuotaExceeded) as refused:
        check_scene_limit(role, limit + 1)
    assert (refused.value.field, refused.value.extra["quota"], refused.value.extra["limit"]) == (
        "text", "scenes_per_project", limit)


def test_an_admin_project_has_no_scene_limit() -> None:
    check_scene_limit("admin", 10_000)


# -- replay -----------------------------------------------------------------------------------
def test_a_day_of_usage_is_rebuilt_from_its_events() -> None:
    usage = Usage(tenant_id=TENANT, day=DAY)
    events = history(usage, consume(projects=1), consume(story_chars=900, tts_minutes=4), consume(images=3))

    then_replays(usage, events, state)
