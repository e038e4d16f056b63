"""Given events / then rows: every projection's rows from an aggregate folded from events (no database).

An inline projection's rows are a pure function of the folded aggregate (docs/decisions.md #3), so a
spec folds events with `given` and compares `rows()` with the rows it expects. The async daily usage
projection turns each event into counter additions on its view; a view that writes down what it is
asked stands in for the SQL, whose effect on the tables is covered by
tests/integration/test_views_daily_usage.py.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from domain.application import hash_token
from domain.assets import Asset
from domain.config import default_config
from domain.jobs import Job
from domain.presets import Preset
from domain.projects import Project
from domain.quotas import Usage
from domain.sessions import Session
from domain.users import SETTINGS_DEFAULT, User
from projections.assets import AssetsProjection
from projections.inline import INLINE_PROJECTIONS
from projections.jobs import JobsProjection
from projections.presets import PresetsProjection
from projections.projects import ProjectsProjection, ScenesProjection
from projections.sessions import SessionsProjection
from projections.usage import UsageProjection
from projections.users import UsersProjection
from projections.views import DailyUsageProjection
from tests.unit.gwt import given, history, names, stored

TENANT = "4f7d2c1e-0000-4000-8000-000000000001"
T = UUID(TENANT)
ASSET_ID = "4f7d2c1e-0000-4000-8000-0000000000b1"
PRESET_ID = "4f7d2c1e-0000-4000-8000-0000000000c1"
T0 = datetime(2026, 1, 31, 22, 0, tzinfo=timezone.utc)
Rows = dict[str, list[tuple[Any, ...]]]


def happened(events: Sequence[Any], start: datetime = T0, step: timedelta = timedelta(minutes=1)) -> list[Any]:
    """The events as if recorded one `step` apart from `start` (a spec names its instants)."""
    return [dataclasses.replace(e, timestamp=start + n * step) for n, e in enumerate(events)]


def times(events: Sequence[Any]) -> list[datetime]:
    return [e.timestamp for e in events]


def plain(rows: Rows) -> Rows:
    """Rows with each JSONB parameter unwrapped to its value (Jsonb has no equality of its own)."""
    return {table: [tuple(v.obj if isinstance(v, Jsonb) else v for v in row) for row in table_rows]
            for table, table_rows in rows.items()}


def rows_of(projection: Any, events: Sequence[Any]) -> Rows:
    return plain(projection.rows(given(*events)))


def prose(tag: str, length: int) -> str:
    text = (f"{tag} " + "the night train hums along the silver river " * 10)[: length - 1]
    return (text[:-1] + "s" if text.endswith(" ") else text) + "."


A, B, C = prose("Alpha", 150), prose("Bravo", 120), prose("Charlie", 140)


# -- projects and scenes ----------------------------------------------------------------------
def project_events(*commands: Callable[[Project], Any]) -> list[Any]:
    return happened(history(Project.create(tenant_id=TENANT, title="Night train", description="By rail",
                                           preset_id=PRESET_ID), *commands))


def test_a_new_project_is_one_draft_row_with_no_story_and_no_scenes() -> None:
    events = project_events()
    project = given(*events)

    assert rows_of(ProjectsProjection(), events) == {"projects": [(
        T, project.id, "Night train", "By rail", "draft", default_config(), UUID(PRESET_ID), 0, 0, 1,
        T0, T0, None, None)]}
    assert rows_of(ScenesProjection(), events) == {"scenes": []}


def test_a_story_sets_the_character_and_scene_counts_and_one_scene_row_per_scene_in_order() -> None:
    story = "\n\n".join((A, B, C))
    events = project_events(lambda p: p.set_story(story), lambda p: p.rename("Day train"))
    project = given(*events)

    (row,) = rows_of(ProjectsProjection(), events)["projects"]
    assert (row[2], row[4], row[7], row[8], row[9]) == ("Day train", "ready", len(story), 3, len(events))
    assert (row[10], row[11]) == (T0, times(events)[-1])
    assert rows_of(ScenesProjection(), events) == {"scenes": [
        (T, project.id, 0, A, None, None), (T, project.id, 1, B, None, None), (T, project.id, 2, C, None, None)]}


def test_scene_edits_show_in_the_scene_rows() -> None:
    events = project_events(lambda p: p.set_story("\n\n".join((A, B, C))), lambda p: p.reorder_scenes([2, 0, 1]),
                            lambda p: p.update_scene(0, prompt="a lighthouse at dusk"),
                            lambda p: p.attach_scene_image(1, ASSET_ID))
    project = given(*events)

    assert rows_of(ScenesProjection(), events) == {"scenes": [
        (T, project.id, 0, C, "a lighthouse at dusk", None), (T, project.id, 1, A, None, UUID(ASSET_ID)),
        (T, project.id, 2, B, None, None)]}


def test_a_deleted_project_keeps_its_row_marked_deleted_at_the_time_of_its_deletion() -> None:
    events = project_events(lambda p: p.delete())

    (row,) = rows_of(ProjectsProjection(), events)["projects"]
    assert (row[9], row[12]) == (2, times(events)[1])

    restored = project_events(lambda p: p.delete(), lambda p: p.restore())
    assert rows_of(ProjectsProjection(), restored)["projects"][0][12] is None


def test_every_project_event_that_changes_scene_rows_is_one_the_scenes_projection_listens_to() -> None:
    # The scenes table is only rewritten for the events in `relevant`: an event missing from it
    # would leave stale scenes behind. Walk a history through every kind of project event.
    events = history(Project.create(tenant_id=TENANT, title="T"),
                     lambda p: p.set_story("\n\n".join((A, B, C))), lambda p: p.rename("U"),
                     lambda p: p.describe("d"), lambda p: p.reconfigure({"aspect_ratio": "1:1"}),
                     lambda p: p.merge_scenes([1, 2]), lambda p: p.split_scene(1, 120),
                     lambda p: p.reorder_scenes([1, 0, 2]), lambda p: p.update_scene(0, text=B + " More."),
                     lambda p: p.attach_scene_image(2, ASSET_ID), lambda p: p.queue_job("j"),
                     lambda p: p.job_started("j"), lambda p: p.job_ended("j", "succeeded"),
                     lambda p: p.change_status("draft"), lambda p: p.delete(), lambda p: p.restore())
    seen = {f"Project.{n}" for n in names(events)}
    assert {"Project.ScenesMerged", "Project.SceneSplit", "Project.ScenesReordered", "Project.SceneUpdated",
            "Project.SceneImageAttached", "Project.StorySet", "Project.JobQueued"} <= seen

    changing = set()
    for n in range(1, len(events)):
        if rows_of(ScenesProjection(), events[:n]) != rows_of(ScenesProjection(), events[:n + 1]):
            changing.add(f"Project.{names(events)[n]}")
    relevant = ScenesProjection.relevant  # None would mean every event
    missed = set() if relevant is None else changing - relevant
    assert missed == set()
    assert {"Project.StorySet", "Project.ScenesMerged", "Project.SceneSplit", "Project.ScenesReordered",
            "Project.SceneUpdated", "Project.SceneImageAttached"} <= changing


# -- jobs -------------------------------------------------------------------------------------
def job_events(*commands: Callable[[Job], Any]) -> list[Any]:
    job = Job(tenant_id=TENANT, project_id=PRESET_ID, config={"aspect_ratio": "9:16"}, estimate={"expected": 1.5},
              priority=1, max_attempts=2, timeout_seconds=60, queued_at=T0.isoformat())
    return happened(history(job, *commands))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_queued_job_is_one_row_in_the_render_queue() -> None:
    events = job_events()
    job = given(*events)

    assert rows_of(JobsProjection(), events) == {"jobs": [(
        T, job.id, UUID(PRESET_ID), "queued", 1, {"aspect_ratio": "9:16"}, {"expected": 1.5}, None, 0, 2, "ingest",
        {"step": None, "completed_steps": [], "percentage": 0}, None, None, 60, T0, T0, None, None, None, 1,
        T0, T0, None, None, None)]}


def test_a_job_requeued_after_a_failure_shows_its_error_attempts_and_when_it_is_available_again() -> None:
    events = job_events(lambda j: j.claim("worker-a", at(1)), lambda j: j.report_progress("prompt", 30, at(2)),
                        lambda j: j.fail("RATE_LIMIT", "slow down", True, at(3), 1.0))

    (row,) = rows_of(JobsProjection(), events)["jobs"]
    columns = JobsProjection.tables["jobs"][0]
    got = dict(zip(columns, row))
    assert {k: got[k] for k in ("status", "attempts", "worker_id", "available_at", "started_at", "heartbeat_at",
                                "finished_at", "version")} == {
        "status": "queued", "attempts": 1, "worker_id": None, "available_at": at(3) + timedelta(seconds=1),
        "started_at": at(1), "heartbeat_at": at(2), "finished_at": None, "version": 4}
    assert got["error"] == {"code": "RATE_LIMIT", "message": "slow down", "details": None, "retryable": True,
                            "at": at(3).isoformat()}
    assert got["progress"] == {"step": "prompt", "completed_steps": ["ingest", "segment"], "percentage": 30.0}


def test_a_succeeded_job_shows_its_actual_cost_and_finish() -> None:
    events = job_events(lambda j: j.claim("worker-a", at(1)), lambda j: j.complete(2.25, at(5)))

    got = dict(zip(JobsProjection.tables["jobs"][0], rows_of(JobsProjection(), events)["jobs"][0]))
    assert (got["status"], got["cost_actual"], got["finished_at"], got["error"]) == ("succeeded", 2.25, at(5), None)


# -- assets -----------------------------------------------------------------------------------
def asset_events(*commands: Callable[[Asset], Any], **fields: Any) -> list[Any]:
    fields = {"tenant_id": TENANT, "type": "image", "uri": "r2://b/k.png", "size_bytes": 2048,
              "metadata": {"w": 1}, "project_id": PRESET_ID, "job_id": None, "scene_index": 0,
              "expires_at": T0 + timedelta(days=1), "now": T0, **fields}
    return happened(history(Asset.register(**fields), *commands))


def test_a_registered_asset_is_one_row_with_its_links_and_expiry() -> None:
    events = asset_events()
    asset = given(*events)

    assert rows_of(AssetsProjection(), events) == {"assets": [(
        T, asset.id, "image", "r2://b/k.png", 2048, {"w": 1}, UUID(PRESET_ID), None, 0, T0 + timedelta(days=1),
        None, 1, T0, T0, None, None)]}


def test_an_expired_then_deleted_asset_shows_both_times() -> None:
    expired_at = T0 + timedelta(days=2)
    events = asset_events(lambda a: a.expire(expired_at), lambda a: a.delete())

    (row,) = rows_of(AssetsProjection(), events)["assets"]
    assert (row[10], row[11], row[14]) == (expired_at, 3, times(events)[2])


# -- presets ----------------------------------------------------------------------------------
def test_a_preset_is_one_row_with_its_name_config_and_deletion() -> None:
    events = happened(history(Preset.create(tenant_id=TENANT, name="Moody", config={}),
                              lambda p: p.rename("Gloomy"), lambda p: p.delete()))
    preset = given(*events)

    assert rows_of(PresetsProjection(), events) == {"presets": [
        (T, preset.id, "Gloomy", default_config(), 3, T0, times(events)[2], times(events)[2])]}


# -- users and their tokens -------------------------------------------------------------------
def test_a_user_is_one_row_and_each_of_its_tokens_one_row_holding_only_the_hash() -> None:
    plaintext = "avm_Q2hvb3NlIGEgc2VjcmV0IHRoYXQgbm9ib2R5IGNhbiBndWVzcw"
    token_id = "0b7e1b8a-0000-4000-8000-00000000000a"
    issued, revoked = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    events = happened(history(
        User.register(email="ada@example.com", name="Ada", role="premium"),
        lambda u: u.issue_token(token_id=token_id, name="laptop", token_hash=hash_token(plaintext).hex(),
                                prefix=plaintext[:8], issued_at=issued.isoformat(), expires_at=None),
        lambda u: u.revoke_token(token_id, revoked.isoformat()),
        lambda u: u.choose_default_preset(PRESET_ID)))
    user = given(*events)
    tenant = UUID(user.tenant_id)

    rows = rows_of(UsersProjection(), events)
    assert rows["users"] == [(tenant, user.id, "ada@example.com", "Ada", None, "premium", SETTINGS_DEFAULT,
                              UUID(PRESET_ID), 4, T0, times(events)[3], None)]
    assert rows["api_tokens"] == [(tenant, UUID(token_id), "laptop", hash_token(plaintext), plaintext[:8],
                                   issued, None, revoked)]
    assert plaintext.encode() not in repr(rows).encode()


IDENTITY_ID = "0b7e1b8a-0000-4000-8000-00000000000b"


def session_events(*changes: Callable[[Any], None]) -> list[Any]:
    return happened(history(Session(tenant_id=TENANT, token_hash=hash_token("avms_x").hex(), provider="google",
                                    identity_id=IDENTITY_ID, id_token_hash="ab" * 32, user_agent="Firefox"), *changes))


def test_a_session_is_one_row_with_only_hashes_and_when_it_ended() -> None:
    events = session_events(lambda s: s.end("logout"))
    session = given(*events)
    assert rows_of(SessionsProjection(), events) == {"sessions": [(
        T, session.id, hash_token("avms_x"), "google", UUID(IDENTITY_ID), bytes.fromhex("ab" * 32), "Firefox",
        times(events)[0], times(events)[1], "logout")]}


def test_a_users_linked_identities_are_its_rows_of_identities_and_an_unlinked_one_goes() -> None:
    linked = T0.isoformat()
    events = happened(history(
        User.register(email="ada@example.com", name="Ada", role="user"),
        lambda u: u.link_identity(identity_id=IDENTITY_ID, provider="google", subject="1234", email="ada@gmail.com",
                                  linked_at=linked),
        lambda u: u.link_identity(identity_id=PRESET_ID, provider="github", subject="99", email="ada@example.com",
                                  linked_at=linked),
        lambda u: u.unlink_identity(PRESET_ID)))
    tenant = UUID(given(*events).tenant_id)
    assert rows_of(UsersProjection(), events)["identities"] == [
        (tenant, UUID(IDENTITY_ID), "google", "1234", "ada@gmail.com", T0)]


# -- usage ------------------------------------------------------------------------------------
def test_a_day_of_usage_is_one_row_keyed_by_tenant_and_day_with_what_was_used() -> None:
    events = happened(history(Usage(tenant_id=TENANT, day="2026-01-31"),
                              lambda u: u.consume("user", {"projects": 1}),
                              lambda u: u.consume("user", {"images": 4, "projects": 1})))
    usage = given(*events)

    assert rows_of(UsageProjection(), events) == {"usage": [(T, date(2026, 1, 31), {"projects": 2, "images": 4}, 3)]}
    assert UsageProjection().key(usage, 2) == (T, date(2026, 1, 31))


# -- every inline projection ------------------------------------------------------------------
def every_aggregate_history() -> list[list[Any]]:
    return [
        project_events(lambda p: p.set_story("\n\n".join((A, B))), lambda p: p.attach_scene_image(0, ASSET_ID)),
        job_events(lambda j: j.claim("w", at(1)), lambda j: j.fail("TIMEOUT", "t", True, at(2), 0.5)),
        asset_events(lambda a: a.delete()),
        happened(history(Preset.create(tenant_id=TENANT, name="P", config={}), lambda p: p.rename("Q"))),
        happened(history(User.register(email="b@example.com", name=None, role="user"),
                         lambda u: u.link_identity(identity_id=IDENTITY_ID, provider="p", subject="s",
                                                   email="b@example.com", linked_at=T0.isoformat()))),
        session_events(lambda s: s.end("revoked")),
        happened(history(Usage(tenant_id=TENANT, day="2026-01-31"), lambda u: u.consume("user", {"images": 1}))),
    ]


@pytest.mark.parametrize("projection", INLINE_PROJECTIONS, ids=[p.name for p in INLINE_PROJECTIONS])
def test_rows_rebuilt_from_stored_events_are_the_rows_written_inline(projection: Any) -> None:
    # Inline writes use the live aggregate; a rebuild folds the events read back from the store.
    histories = [h for h in every_aggregate_history() if isinstance(given(*h), projection.handles)]
    assert histories, f"no history for {projection.name}"
    for events in histories:
        assert rows_of(projection, stored(events)) == rows_of(projection, events)


@pytest.mark.parametrize("projection", INLINE_PROJECTIONS, ids=[p.name for p in INLINE_PROJECTIONS])
def test_every_row_has_a_value_for_each_column_of_its_table(projection: Any) -> None:
    for events in every_aggregate_history():
        aggregate = given(*events)
        if not isinstance(aggregate, projection.handles):
            continue
        for table, rows in projection.rows(aggregate).items():
            columns, _ = projection.tables[table]
            assert [len(r) for r in rows] == [len(columns)] * len(rows), table
            assert all(r[0] == T or table in ("users", "api_tokens", "identities") for r in rows), \
                "rows start with tenant_id"


# -- the async daily usage view ---------------------------------------------------------------
class WrittenDown:
    """The daily usage view as far as the projection sees it: what it is asked to add, per event."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def add(self, tracking: Tracking, day: date, **amounts: Any) -> None:
        self.calls.append((tracking.notification_id, "add", day, amounts))

    def skip(self, tracking: Tracking) -> None:
        self.calls.append((tracking.notification_id, "skip"))

    def asset_registered(self, tracking: Tracking, day: date, asset_id: UUID, size_bytes: int) -> None:
        self.calls.append((tracking.notification_id, "asset_registered", day, asset_id, size_bytes))

    def asset_changed(self, tracking: Tracking, day: date, asset_id: UUID, change: str) -> None:
        self.calls.append((tracking.notification_id, "asset_changed", day, asset_id, change))


def project_daily_usage(events: Sequence[Any]) -> list[tuple[Any, ...]]:
    view = WrittenDown()
    projection = DailyUsageProjection(view=view)  # type: ignore[arg-type]
    for position, event in enumerate(events, start=1):
        projection.process_event(event, Tracking("AvmApplication", position))
    return view.calls


JAN31, FEB1 = date(2026, 1, 31), date(2026, 2, 1)


def test_projects_created_and_scenes_from_a_story_are_counted_on_their_utc_day() -> None:
    events = project_events(lambda p: p.set_story("\n\n".join((A, B, C))), lambda p: p.rename("U"))
    # Created 23:59 UTC on the 31st; the story set at 07:30+08:00 on the 1st, i.e. 23:30 UTC on the 31st.
    events = [dataclasses.replace(events[0], timestamp=datetime(2026, 1, 31, 23, 59, tzinfo=timezone.utc)),
              dataclasses.replace(events[1], timestamp=datetime(2026, 2, 1, 7, 30,
                                                                 tzinfo=timezone(timedelta(hours=8)))),
              *happened(events[2:], start=datetime(2026, 2, 1, 0, 0, tzinfo=timezone.utc))]
    assert names(events) == ["Created", "StorySet", "StatusChanged", "Renamed"]

    assert project_daily_usage(events) == [
        (1, "add", JAN31, {"projects_created": 1}), (2, "add", JAN31, {"scenes_created": 3}),
        (3, "skip"), (4, "skip")]


def test_a_render_counts_its_estimate_when_queued_and_its_cost_once_it_succeeds_not_its_retried_failures() -> None:
    events = job_events(lambda j: j.claim("w", at(1)), lambda j: j.fail("SERVICE_ERROR", "x", True, at(2), 1.0),
                        lambda j: j.claim("w", at(3)), lambda j: j.complete(2.25, at(4)))

    assert project_daily_usage(happened(events, start=datetime(2026, 2, 1, tzinfo=timezone.utc))) == [
        (1, "add", FEB1, {"cost_estimated": Decimal("1.500000")}), (2, "skip"), (3, "skip"), (4, "skip"),
        (5, "add", FEB1, {"renders_succeeded": 1, "cost_actual": Decimal("2.250000")})]


def test_a_render_that_fails_for_good_counts_as_failed() -> None:
    events = job_events(lambda j: j.claim("w", at(1)), lambda j: j.fail("CONTENT_POLICY", "x", True, at(2), 1.0))

    assert project_daily_usage(events)[-1] == (3, "add", JAN31, {"renders_failed": 1})


def test_storage_counts_sized_assets_and_follows_their_deletion_restoration_and_expiry() -> None:
    events = asset_events(lambda a: a.delete(), lambda a: a.restore(), lambda a: a.expire(T0 + timedelta(days=2)))
    asset_id = events[0].originator_id
    unsized = asset_events(size_bytes=None)

    assert project_daily_usage(events) == [
        (1, "asset_registered", JAN31, asset_id, 2048), (2, "asset_changed", JAN31, asset_id, "deleted"),
        (3, "asset_changed", JAN31, asset_id, "restored"), (4, "asset_changed", JAN31, asset_id, "expired")]
    assert project_daily_usage(unsized) == [(1, "skip")]


def test_every_event_moves_the_view_on_exactly_once_counted_or_not() -> None:
    events = [e for h in every_aggregate_history() for e in h]

    assert [call[0] for call in project_daily_usage(events)] == list(range(1, len(events) + 1))
