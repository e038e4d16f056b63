"""Specifications of the Project aggregate: given events, when a command, then events (or an error).
Story and scene edits: test_project_scenes_aggregate.py."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from domain.config import default_config
from domain.errors import Conflict, InvalidTransition, NotFound, StaleVersion, ValidationProblem
from domain.projects import Project
from tests.unit.gwt import Recorded, given, history, then, then_nothing, then_raises, then_replays, when, when_new
from tests.unit.projects_given import A, B, C, TENANT, at_status, created, prose, state, texts, with_scenes

# The allowed moves, copied from the domain reference rather than imported from the code.
STATUSES = ("draft", "ready", "processing", "completed", "failed")
ALLOWED = {
    ("draft", "ready"), ("draft", "failed"),
    ("ready", "processing"), ("ready", "draft"),
    ("processing", "completed"), ("processing", "failed"),
    ("completed", "draft"),
    ("failed", "draft"), ("failed", "ready"),
}


# -- the helpers themselves -------------------------------------------------------------------
def test_prose_has_the_length_asked_for() -> None:
    assert [len(t) for t in (A, B, C, prose("X", 200), prose("Y", 281))] == [150, 120, 140, 200, 281]


def test_a_story_of_three_paragraphs_becomes_three_scenes() -> None:
    project = given(*with_scenes(A, B, C))

    assert texts(project) == [A, B, C]
    assert project.status == "ready"


# -- create -----------------------------------------------------------------------------------
def test_creating_a_project_records_created_with_the_default_config() -> None:
    events = when_new(lambda: Project.create(tenant_id=TENANT, title="Night train"))

    then(events, Recorded("Created", tenant_id=TENANT, title="Night train", description="",
                          config=default_config(), preset_id=None))
    project = given(*events)
    assert (project.status, project.scenes, project.story, project.deleted) == ("draft", [], None, False)


def test_creating_a_project_trims_the_title() -> None:
    then(when_new(lambda: Project.create(tenant_id=TENANT, title="  Night train  ")),
         Recorded("Created", title="Night train"))


@pytest.mark.parametrize("title", ["x", "t" * 255])
def test_a_title_of_1_to_255_characters_is_accepted(title: str) -> None:
    then(when_new(lambda: Project.create(tenant_id=TENANT, title=title)), Recorded("Created", title=title))


@pytest.mark.parametrize("title", ["", "   ", "t" * 256])
def test_a_title_that_is_empty_or_over_255_characters_is_refused(title: str) -> None:
    with then_raises(ValidationProblem, field="title"):
        when_new(lambda: Project.create(tenant_id=TENANT, title=title))


def test_a_description_of_1000_characters_is_accepted() -> None:
    then(when_new(lambda: Project.create(tenant_id=TENANT, title="T", description="d" * 1000)),
         Recorded("Created", description="d" * 1000))


def test_a_description_over_1000_characters_is_refused() -> None:
    with then_raises(ValidationProblem, field="description"):
        when_new(lambda: Project.create(tenant_id=TENANT, title="T", description="d" * 1001))


def test_a_partial_config_is_completed_with_the_defaults() -> None:
    events = when_new(lambda: Project.create(tenant_id=TENANT, title="T",
                                             config={"aspect_ratio": "16:9", "voice": {"speed": 1.5}}))

    expected = default_config()
    expected["aspect_ratio"] = "16:9"
    expected["voice"]["speed"] = 1.5
    then(events, Recorded("Created", config=expected))


@pytest.mark.parametrize(("config", "field"), [
    ({"aspect_ratio": "4:3"}, "config.aspect_ratio"),
    ({"template": {"bgm_volume": 5}}, "config.template.bgm_volume"),
    ({"template": {"transition_duration": 99}}, "config.template.transition_duration"),
    ({"voice": {"pitch": 2}}, "config.voice.pitch"),
    ({"generation": {"images_per_scene": 4}}, "config.generation.images_per_scene"),
    ({"safety": {"adult_content": "sometimes"}}, "config.safety.adult_content"),
])
def test_a_bad_config_value_is_refused_naming_its_path(config: dict[str, Any], field: str) -> None:
    with then_raises(ValidationProblem, field=field):
        when_new(lambda: Project.create(tenant_id=TENANT, title="T", config=config))


# -- rename, describe, reconfigure ------------------------------------------------------------
def test_renaming_records_renamed() -> None:
    project = given(*created())

    then(when(project, lambda p: p.rename("Day train")), Recorded("Renamed", title="Day train"))
    assert project.title == "Day train"


@pytest.mark.parametrize("title", ["Night train", "  Night train "])
def test_renaming_to_the_same_title_records_nothing(title: str) -> None:
    then_nothing(when(given(*created()), lambda p: p.rename(title)))


@pytest.mark.parametrize("title", ["", "  ", "t" * 256])
def test_renaming_to_a_bad_title_is_refused(title: str) -> None:
    with then_raises(ValidationProblem, field="title"):
        when(given(*created()), lambda p: p.rename(title))


def test_describing_records_described() -> None:
    then(when(given(*created()), lambda p: p.describe("A ride at dusk")),
         Recorded("Described", description="A ride at dusk"))


def test_describing_with_the_same_description_records_nothing() -> None:
    then_nothing(when(given(*created(description="A ride")), lambda p: p.describe("A ride")))


def test_a_description_over_1000_characters_is_refused_on_describe() -> None:
    with then_raises(ValidationProblem, field="description"):
        when(given(*created()), lambda p: p.describe("d" * 1001))


def test_reconfiguring_merges_a_section_key_by_key() -> None:
    project = given(*created(config={"template": {"name": "dark", "bgm_volume": -20}}))

    events = when(project, lambda p: p.reconfigure({"template": {"transitions": "zoom"}}))

    expected = default_config()
    expected["template"].update(name="dark", bgm_volume=-20, transitions="zoom")
    then(events, Recorded("Reconfigured", config=expected))
    assert project.config == expected


def test_reconfiguring_replaces_a_top_level_value_and_leaves_the_sections_alone() -> None:
    project = given(*created(config={"voice": {"type": "male"}}))

    events = when(project, lambda p: p.reconfigure({"aspect_ratio": "1:1"}))

    expected = default_config()
    expected.update(aspect_ratio="1:1")
    expected["voice"]["type"] = "male"
    then(events, Recorded("Reconfigured", config=expected))


def test_reconfiguring_with_the_current_values_records_nothing() -> None:
    project = given(*created(config={"voice": {"type": "male"}}))

    then_nothing(when(project, lambda p: p.reconfigure({"voice": {"type": "male"}, "aspect_ratio": "9:16"})))


@pytest.mark.parametrize(("patch", "field"), [
    ({"generation": {"images_per_scene": 0}}, "config.generation.images_per_scene"),
    ({"voice": {"speed": 2.5}}, "config.voice.speed"),
    ({"template": {"colour": "red"}}, "config.template.colour"),
    ({"voice": "male"}, "config.voice"),
])
def test_reconfiguring_with_a_bad_value_is_refused_naming_its_path(patch: dict[str, Any], field: str) -> None:
    project = given(*created())

    with then_raises(ValidationProblem, field=field):
        when(project, lambda p: p.reconfigure(patch))
    assert project.config == default_config()


# -- status -----------------------------------------------------------------------------------
def test_every_status_can_be_reached_along_allowed_moves() -> None:
    assert {status: given(*at_status(status)).status for status in STATUSES} == {s: s for s in STATUSES}


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_an_allowed_status_change_records_status_changed_with_the_previous_status(
        current: str, target: str) -> None:
    project = given(*at_status(current))

    then(when(project, lambda p: p.change_status(target)),
         Recorded("StatusChanged", status=target, previous=current))
    assert project.status == target


@pytest.mark.parametrize(("current", "target"),
                         sorted(set(itertools.product(STATUSES, STATUSES)) - ALLOWED))
def test_a_status_change_not_in_the_allowed_moves_is_refused_without_an_event(
        current: str, target: str) -> None:
    project = given(*at_status(current))

    with then_raises(InvalidTransition, field="status", current=current):
        when(project, lambda p: p.change_status(target))
    assert project.status == current


def test_the_transition_matrix_has_nine_allowed_and_sixteen_refused_moves() -> None:
    assert (len(ALLOWED), 25 - len(ALLOWED)) == (9, 16)


def test_an_unknown_status_is_refused_as_invalid_input() -> None:
    with then_raises(ValidationProblem, field="status"):
        when(given(*created()), lambda p: p.change_status("archived"))


# -- delete and restore -----------------------------------------------------------------------
def test_deleting_a_project_records_deleted() -> None:
    project = given(*created())

    then(when(project, lambda p: p.delete()), "Deleted")
    assert project.deleted is True


COMMANDS: dict[str, Callable[[Project], Any]] = {
    "rename": lambda p: p.rename("Other"),
    "describe": lambda p: p.describe("Other"),
    "reconfigure": lambda p: p.reconfigure({"aspect_ratio": "1:1"}),
    "change_status": lambda p: p.change_status("processing"),
    "set_story": lambda p: p.set_story(A),
    "merge_scenes": lambda p: p.merge_scenes([0, 1]),
    "split_scene": lambda p: p.split_scene(0, 75),
    "reorder_scenes": lambda p: p.reorder_scenes([1, 0, 2]),
    "update_scene": lambda p: p.update_scene(0, text=B),
    "delete": lambda p: p.delete(),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_on_a_deleted_project_answers_not_found(command: Callable[[Project], Any]) -> None:
    project = given(*with_scenes(A, B, C, then_do=(lambda p: p.delete(),)))

    with then_raises(NotFound):
        when(project, command)


def test_restoring_a_project_that_is_not_deleted_is_a_conflict() -> None:
    with then_raises(Conflict):
        when(given(*created()), lambda p: p.restore())


def test_a_deleted_project_restored_is_back_as_it_was() -> None:
    project = given(*with_scenes(A, B, C))
    before = state(project)

    then(when(project, lambda p: p.delete()), "Deleted")
    then(when(project, lambda p: p.restore()), "Restored")

    assert state(project) == before
    then(when(project, lambda p: p.rename("Back again")), Recorded("Renamed", title="Back again"))


# -- versions ---------------------------------------------------------------------------------
def test_a_stale_expected_version_is_refused() -> None:
    project = given(*created(lambda p: p.rename("Day train")))
    assert project.version == 2

    with then_raises(StaleVersion, field=None):  # the domain names no header: api/problems.py does
        when(project, lambda p: p.check_version(1))


@pytest.mark.parametrize("expected", [None, 2])
def test_the_current_or_no_expected_version_passes(expected: int | None) -> None:
    then_nothing(when(given(*created(lambda p: p.rename("Day train"))), lambda p: p.check_version(expected)))


# -- replay -----------------------------------------------------------------------------------
SCENARIOS: dict[str, tuple[Callable[[], list[Any]], Callable[[Project], Any]]] = {
    "rename": (created, lambda p: p.rename("Day train")),
    "describe": (created, lambda p: p.describe("At dusk")),
    "reconfigure": (created, lambda p: p.reconfigure({"template": {"name": "vivid"}, "safety": {
        "blocked_words": ["storm"]}})),
    "status": (lambda: at_status("processing"), lambda p: p.change_status("failed")),
    "set_story": (created, lambda p: p.set_story("\n\n".join([A, B, C]))),
    "merge": (lambda: with_scenes(A, B, C), lambda p: p.merge_scenes([1, 2])),
    "split": (lambda: with_scenes(A, B, C), lambda p: p.split_scene(2, 70)),
    "reorder": (lambda: with_scenes(A, B, C), lambda p: p.reorder_scenes([2, 1, 0])),
    "update": (lambda: with_scenes(A, B, C), lambda p: p.update_scene(1, text=C, prompt="rain")),
    "delete": (lambda: with_scenes(A, B, C), lambda p: p.delete()),
    "restore": (lambda: with_scenes(A, B, C, then_do=(lambda p: p.delete(),)), lambda p: p.restore()),
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_replaying_the_recorded_events_rebuilds_the_same_project(
        scenario: tuple[Callable[[], list[Any]], Callable[[Project], Any]]) -> None:
    build, command = scenario
    past = build()
    project = given(*past)

    new = when(project, command)

    assert new, "the scenario should record something"
    then_replays(project, past + new, state)


def test_replaying_a_long_history_rebuilds_the_same_project() -> None:
    live = Project.create(tenant_id=TENANT, title="Night train")
    events = history(
        live,
        lambda p: p.set_story("\n\n".join([A, B, C])),
        lambda p: p.split_scene(0, 90),
        lambda p: p.update_scene(1, prompt="lanterns"),
        lambda p: p.reorder_scenes([3, 2, 1, 0]),
        lambda p: p.merge_scenes([2, 3]),
        lambda p: p.reconfigure({"voice": {"speed": 1.25}}),
        lambda p: p.change_status("processing"),
        lambda p: p.change_status("completed"),
        lambda p: p.delete(),
        lambda p: p.restore(),
    )

    then_replays(live, events, state)
    assert live.version == len(events)
