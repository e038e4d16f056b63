"""Specifications of the Project aggregate: given events, when a command, then events (or an error)."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from domain.config import default_config
from domain.errors import Conflict, EmptyStory, InvalidTransition, NotFound, StaleVersion, ValidationProblem
from domain.projects import Project
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

# The allowed moves, copied from the domain reference rather than imported from the code.
STATUSES = ("draft", "ready", "processing", "completed", "failed")
ALLOWED = {
    ("draft", "ready"), ("draft", "failed"),
    ("ready", "processing"), ("ready", "draft"),
    ("processing", "completed"), ("processing", "failed"),
    ("completed", "draft"),
    ("failed", "draft"), ("failed", "ready"),
}
# How to reach each status from a fresh draft, along allowed moves only.
PATH_TO = {
    "draft": (),
    "ready": ("ready",),
    "processing": ("ready", "processing"),
    "completed": ("ready", "processing", "completed"),
    "failed": ("failed",),
}


def prose(tag: str, length: int) -> str:
    """A scene-like paragraph of exactly `length` characters with no sentence break inside."""
    text = (f"{tag} " + "the night train hums along the silver river " * 10)[: length - 1]
    if text.endswith(" "):
        text = text[:-1] + "s"
    return text + "."


A, B, C = prose("Alpha", 150), prose("Bravo", 120), prose("Charlie", 140)


def state(project: Project) -> tuple[Any, ...]:
    return (project.title, project.description, project.status, project.story, project.scenes,
            project.config, project.deleted, project.tenant_id, project.preset_id)


def texts(project: Project) -> list[str]:
    return [scene["text"] for scene in project.scenes]


def created(*commands: Callable[[Project], Any], **fields: Any) -> list[Any]:
    fields = {"tenant_id": TENANT, "title": "Night train", **fields}
    return history(Project.create(**fields), *commands)


def at_status(status: str) -> list[Any]:
    return created(*[lambda p, s=s: p.change_status(s) for s in PATH_TO[status]])


def with_scenes(*scenes: str, then_do: tuple[Callable[[Project], Any], ...] = ()) -> list[Any]:
    return created(lambda p: p.set_story("\n\n".join(scenes)), *then_do)


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


# -- story --------------------------------------------------------------------------------------
def test_setting_the_story_of_a_draft_records_story_set_then_moves_it_to_ready() -> None:
    story = "\n\n".join([A, B, C])

    events = when(given(*created()), lambda p: p.set_story(story))

    then(events,
         Recorded("StorySet", text=story, scenes=[A, B, C], min_length=100, max_length=280),
         Recorded("StatusChanged", status="ready", previous="draft"))


@pytest.mark.parametrize("status", ["ready", "failed", "completed"])
def test_setting_the_story_of_a_project_that_is_not_a_draft_records_only_story_set(status: str) -> None:
    project = given(*at_status(status))

    then(when(project, lambda p: p.set_story(A)), Recorded("StorySet", scenes=[A]))
    assert project.status == status


def test_setting_a_new_story_replaces_the_scenes() -> None:
    project = given(*with_scenes(A, B, C))

    then(when(project, lambda p: p.set_story(B)), Recorded("StorySet", scenes=[B]))
    assert (texts(project), project.story) == ([B], B)


@pytest.mark.parametrize("story", ["", "   ", "\n\n \n\n"])
def test_an_empty_story_is_refused(story: str) -> None:
    project = given(*created())

    with then_raises(EmptyStory, field="text"):
        when(project, lambda p: p.set_story(story))
    assert project.status == "draft"


def test_a_story_over_50000_characters_is_refused() -> None:
    with then_raises(ValidationProblem, field="text"):
        when(given(*created()), lambda p: p.set_story("a" * 50_001))


# -- the story read back, and its warnings ------------------------------------------------------
SHORT, LONG = prose("Delta", 60), prose("Echo", 250)  # a short paragraph between long ones stays its own scene


def test_a_story_with_a_short_scene_warns_about_it_as_a_scene_edit_does_naming_its_index() -> None:
    project = given(*with_scenes(LONG, SHORT, LONG))
    assert texts(project) == [LONG, SHORT, LONG]
    edit: list[str] = []
    when(given(*with_scenes(A, B)), lambda p: edit.extend(p.update_scene(1, text=SHORT)))

    assert edit == ["scene text is shorter than 100 characters"]
    assert project.scene_warnings() == [f"scene 1: {warning}" for warning in edit]


def test_a_story_of_scenes_within_the_bounds_warns_about_nothing() -> None:
    assert given(*with_scenes(A, B, C)).scene_warnings() == []


def test_the_short_scene_bound_is_the_one_the_story_was_set_with() -> None:
    project = given(*created(lambda p: p.set_story("\n\n".join([LONG, SHORT, LONG]), min_length=50)))

    assert texts(project) == [LONG, SHORT, LONG] and project.scene_warnings() == []


def test_the_story_stays_as_it_was_set_and_scene_edits_tell_the_scenes_apart_from_it() -> None:
    story = "\n\n".join([A, B, C])
    project = given(*created(lambda p: p.set_story(story)))
    assert (project.story, project.scenes_match_story()) == (story, True)

    when(project, lambda p: p.merge_scenes([0, 1]))

    assert (project.story, project.scenes_match_story()) == (story, False)
    when(project, lambda p: p.set_story(story))
    assert project.scenes_match_story()


def test_a_prompt_edit_leaves_the_scenes_the_storys_segmentation() -> None:
    project = given(*with_scenes(A, B))

    when(project, lambda p: p.update_scene(0, prompt="a lighthouse at night"))

    assert project.scenes_match_story()


def test_a_stored_story_that_todays_rules_would_refuse_reads_back_as_not_matching_its_scenes() -> None:
    # Recorded through the event itself, as older rules might have: a blank story cannot be segmented today.
    project = given(*created(lambda p: p._set_story(text=" \n ", scenes=[A], min_length=100, max_length=280)))

    assert (project.story, project.scenes_match_story()) == (" \n ", False)


def test_a_project_without_a_story_has_no_story_and_nothing_to_match() -> None:
    project = given(*created())

    assert (project.story, project.scenes_match_story(), project.scene_warnings()) == (None, True, [])


# -- scene edits: merge -------------------------------------------------------------------------
@pytest.mark.parametrize(("indexes", "expected"), [([0, 1], [f"{A} {B}", C]), ([1, 2], [A, f"{B} {C}"])])
def test_merging_two_adjacent_scenes_records_scenes_merged_and_renumbers(
        indexes: list[int], expected: list[str]) -> None:
    project = given(*with_scenes(A, B, C))

    then(when(project, lambda p: p.merge_scenes(indexes)), Recorded("ScenesMerged", index=indexes[0]))
    assert texts(project) == expected


def test_a_merged_scene_keeps_the_first_prompt_or_else_the_second() -> None:
    project = given(*with_scenes(A, B, C, then_do=(lambda p: p.update_scene(1, prompt="a bridge"),)))

    when(project, lambda p: p.merge_scenes([0, 1]))

    assert project.scenes[0]["prompt"] == "a bridge"


@pytest.mark.parametrize("indexes", [[0, 2], [1, 0], [0], [0, 1, 2], [2, 3], [-1, 0]])
def test_merging_scenes_that_are_not_two_adjacent_existing_ones_is_refused(indexes: list[int]) -> None:
    project = given(*with_scenes(A, B, C))

    with then_raises(ValidationProblem, field="indexes"):
        when(project, lambda p: p.merge_scenes(indexes))
    assert texts(project) == [A, B, C]


def test_merging_into_a_scene_longer_than_the_maximum_is_refused() -> None:
    long_one = prose("Delta", 200)
    project = given(*with_scenes(long_one, A))

    with then_raises(ValidationProblem, field="indexes"):
        when(project, lambda p: p.merge_scenes([0, 1]))
    assert texts(project) == [long_one, A]


# -- scene edits: split -------------------------------------------------------------------------
def test_splitting_a_scene_records_scene_split_and_renumbers_the_rest() -> None:
    project = given(*with_scenes(A, B, C))

    events = when(project, lambda p: p.split_scene(0, 100))

    then(events, Recorded("SceneSplit", index=0, position=100))
    assert texts(project) == [A[:100], A[100:], B, C]


def test_splitting_a_scene_warns_about_a_half_shorter_than_the_minimum() -> None:
    project = given(*with_scenes(A, B, C))

    warnings = project.split_scene(0, 100)

    assert warnings == ["scene text is shorter than 100 characters"]


def test_the_head_of_a_split_scene_keeps_its_prompt_and_the_tail_starts_without_one() -> None:
    project = given(*with_scenes(A, B, C, then_do=(lambda p: p.update_scene(0, prompt="dusk"),)))

    when(project, lambda p: p.split_scene(0, 75))

    assert [s["prompt"] for s in project.scenes] == ["dusk", None, None, None]


@pytest.mark.parametrize("position", [0, -1, 150, 151])
def test_splitting_at_a_position_outside_the_text_is_refused(position: int) -> None:
    project = given(*with_scenes(A, B, C))

    with then_raises(ValidationProblem, field="position"):
        when(project, lambda p: p.split_scene(0, position))
    assert texts(project) == [A, B, C]


@pytest.mark.parametrize("index", [3, -1])
def test_splitting_a_scene_that_does_not_exist_is_refused(index: int) -> None:
    with then_raises(ValidationProblem, field="index"):
        when(given(*with_scenes(A, B, C)), lambda p: p.split_scene(index, 10))


# -- scene edits: reorder -----------------------------------------------------------------------
def test_reordering_scenes_records_scenes_reordered_and_renumbers() -> None:
    project = given(*with_scenes(A, B, C))

    then(when(project, lambda p: p.reorder_scenes([2, 0, 1])), Recorded("ScenesReordered", order=[2, 0, 1]))
    assert texts(project) == [C, A, B]


def test_reordering_into_the_same_order_records_nothing() -> None:
    then_nothing(when(given(*with_scenes(A, B, C)), lambda p: p.reorder_scenes([0, 1, 2])))


@pytest.mark.parametrize("order", [[0, 0, 1], [0, 1], [0, 1, 2, 3], [1, 2, 3], [], [-1, 0, 1]])
def test_reordering_with_an_order_that_is_not_a_permutation_is_refused(order: list[int]) -> None:
    project = given(*with_scenes(A, B, C))

    with then_raises(ValidationProblem, field="order"):
        when(project, lambda p: p.reorder_scenes(order))
    assert texts(project) == [A, B, C]


# -- scene edits: update ------------------------------------------------------------------------
def test_updating_a_scene_text_records_scene_updated() -> None:
    project = given(*with_scenes(A, B, C))
    new = prose("Echo", 130)

    then(when(project, lambda p: p.update_scene(1, text=new)),
         Recorded("SceneUpdated", index=1, text=new, prompt=None))
    assert texts(project) == [A, new, C]


def test_updating_a_scene_prompt_records_scene_updated_and_keeps_the_text() -> None:
    project = given(*with_scenes(A, B, C))

    then(when(project, lambda p: p.update_scene(2, prompt="fog over water")),
         Recorded("SceneUpdated", index=2, text=None, prompt="fog over water"))
    assert project.scenes[2] == {"text": C, "prompt": "fog over water", "image_asset_id": None}


def test_updating_a_scene_with_what_it_already_has_records_nothing() -> None:
    project = given(*with_scenes(A, B, C, then_do=(lambda p: p.update_scene(0, prompt="dusk"),)))

    then_nothing(when(project, lambda p: p.update_scene(0, text=A, prompt="dusk")))


def test_a_short_scene_text_is_accepted_with_a_warning() -> None:
    project = given(*with_scenes(A, B, C))

    assert project.update_scene(0, text="Short.") == ["scene text is shorter than 100 characters"]
    then(project.collect_events(), Recorded("SceneUpdated", text="Short."))


@pytest.mark.parametrize("text", ["", "   ", prose("Foxtrot", 281)])
def test_a_scene_text_that_is_empty_or_over_the_maximum_is_refused(text: str) -> None:
    project = given(*with_scenes(A, B, C))

    with then_raises(ValidationProblem, field="text"):
        when(project, lambda p: p.update_scene(0, text=text))
    assert texts(project) == [A, B, C]


def test_a_prompt_over_2000_characters_is_refused() -> None:
    with then_raises(ValidationProblem, field="prompt"):
        when(given(*with_scenes(A, B, C)), lambda p: p.update_scene(0, prompt="p" * 2001))


def test_updating_a_scene_that_does_not_exist_is_refused() -> None:
    with then_raises(ValidationProblem, field="index"):
        when(given(*with_scenes(A, B, C)), lambda p: p.update_scene(3, text=B))


def test_indexes_follow_the_new_order_after_every_edit() -> None:
    project = given(*with_scenes(A, B, C))
    D = prose("Delta", 110)

    when(project, lambda p: p.split_scene(0, 100))       # A1 A2 B C
    when(project, lambda p: p.update_scene(2, text=D))   # index 2 is now what was scene 1
    assert texts(project) == [A[:100], A[100:], D, C]

    when(project, lambda p: p.merge_scenes([0, 1]))      # A D C
    when(project, lambda p: p.update_scene(1, prompt="p"))
    assert texts(project) == [A, D, C]
    assert project.scenes[1]["prompt"] == "p"

    when(project, lambda p: p.reorder_scenes([1, 2, 0]))  # D C A
    assert texts(project) == [D, C, A]
    assert [s["prompt"] for s in project.scenes] == ["p", None, None]


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


@pytest.mark.parametrize(("first", "second", "joined"), [
    ("The fox ran.", "It was late.", "The fox ran. It was late."),
    ("山上有座廟。", "廟裡有和尚。", "山上有座廟。廟裡有和尚。"),
    ("the ni", "ght train", "the night train"),
])
def test_merged_scene_texts_keep_a_space_between_english_sentences_only(first: str, second: str, joined: str) -> None:
    from domain.projects import join_texts

    assert join_texts(first, second) == joined
