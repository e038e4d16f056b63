"""Specifications of the Project aggregate's story and scene edits (merge, split, reorder, update):
given events, when a command, then events (or an error)."""
from __future__ import annotations

import pytest

from domain.errors import EmptyStory, ValidationProblem
from tests.unit.gwt import Recorded, given, then, then_nothing, then_raises, when
from tests.unit.projects_given import A, B, C, at_status, created, prose, texts, with_scenes


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



@pytest.mark.parametrize(("first", "second", "joined"), [
    ("The fox ran.", "It was late.", "The fox ran. It was late."),
    ("山上有座廟。", "廟裡有和尚。", "山上有座廟。廟裡有和尚。"),
    ("the ni", "ght train", "the night train"),
])
def test_merged_scene_texts_keep_a_space_between_english_sentences_only(first: str, second: str, joined: str) -> None:
    from domain.projects import join_texts

    assert join_texts(first, second) == joined


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
