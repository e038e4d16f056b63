"""Unit tests for project configuration: defaults, validation, merging and built-in presets."""
from __future__ import annotations

import copy
import uuid

import msgspec
import pytest

from domain.config import (
    BUILTIN_PRESETS,
    RESOLUTIONS,
    ProjectConfig,
    default_config,
    merge_config,
    validate_config,
)
from domain.errors import ValidationProblem

DEFAULTS = {
    "aspect_ratio": "9:16",
    "template": {
        "name": "classic",
        "transitions": "fade",
        "transition_duration": 500,
        "background_music": True,
        "bgm_volume": -18,
    },
    "voice": {"type": "natural", "speed": 1.0, "language": "zh-TW", "accent": "taiwan"},
    "generation": {
        "images_per_scene": 1,
        "image_quality": "standard",
        "retry_attempts": 3,
        "timeout_seconds": 300,
        "smart_crop": True,
    },
    "safety": {
        "content_policy": "standard",
        "blocked_words": [],
        "error_strategy": "skip",
        "adult_content": "block",
        "violence_filter": True,
    },
}


def refused(data: object) -> ValidationProblem:
    with pytest.raises(ValidationProblem) as raised:
        validate_config(data)
    return raised.value


def test_the_default_config_is_the_documented_one() -> None:
    assert default_config() == DEFAULTS


def test_the_default_config_is_plain_json() -> None:
    assert msgspec.json.decode(msgspec.json.encode(default_config())) == DEFAULTS


def test_each_call_returns_a_fresh_default_config() -> None:
    first = default_config()
    first["safety"]["blocked_words"].append("oops")

    assert default_config()["safety"]["blocked_words"] == []


def test_an_empty_config_is_filled_with_defaults() -> None:
    assert validate_config({}) == DEFAULTS


def test_a_partial_section_is_filled_with_that_sections_defaults() -> None:
    config = validate_config({"voice": {"language": "en", "speed": 1.5}})

    assert config["voice"] == {**DEFAULTS["voice"], "speed": 1.5, "language": "en"}
    assert config["template"] == DEFAULTS["template"]


def test_an_integer_speed_is_accepted_as_a_float() -> None:
    assert validate_config({"voice": {"speed": 2}})["voice"]["speed"] == 2.0


def test_every_aspect_ratio_has_a_resolution() -> None:
    assert RESOLUTIONS == {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}
    for ratio in RESOLUTIONS:
        assert validate_config({"aspect_ratio": ratio})["aspect_ratio"] == ratio


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"template": {"bgm_volume": -40}}, "config.template.bgm_volume"),
        ({"template": {"bgm_volume": 1}}, "config.template.bgm_volume"),
        ({"template": {"transition_duration": 99}}, "config.template.transition_duration"),
        ({"template": {"transition_duration": 2001}}, "config.template.transition_duration"),
        ({"voice": {"speed": 0.4}}, "config.voice.speed"),
        ({"voice": {"speed": 2.01}}, "config.voice.speed"),
        ({"generation": {"images_per_scene": 4}}, "config.generation.images_per_scene"),
        ({"generation": {"retry_attempts": 0}}, "config.generation.retry_attempts"),
        ({"generation": {"timeout_seconds": 601}}, "config.generation.timeout_seconds"),
        ({"safety": {"blocked_words": ["ok", ""]}}, "config.safety.blocked_words[1]"),
        ({"safety": {"blocked_words": ["x" * 51]}}, "config.safety.blocked_words[0]"),
        ({"safety": {"blocked_words": ["w"] * 101}}, "config.safety.blocked_words"),
    ],
)
def test_an_out_of_range_value_is_refused_naming_its_dotted_field(data: dict, field: str) -> None:
    assert refused(data).field == field


def test_an_out_of_range_value_is_described_in_words() -> None:
    problem = refused({"template": {"bgm_volume": -40}})

    assert problem.detail == "Expected `int` >= -30, got `-40`"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"aspect_ratio": "4:3"}, "config.aspect_ratio"),
        ({"template": {"name": "neon"}}, "config.template.name"),
        ({"template": {"transitions": "wipe"}}, "config.template.transitions"),
        ({"voice": {"type": "robot"}}, "config.voice.type"),
        ({"voice": {"language": "fr"}}, "config.voice.language"),
        ({"voice": {"accent": "sydney"}}, "config.voice.accent"),
        ({"generation": {"image_quality": "ultra"}}, "config.generation.image_quality"),
        ({"safety": {"content_policy": "lax"}}, "config.safety.content_policy"),
        ({"safety": {"error_strategy": "retry"}}, "config.safety.error_strategy"),
        ({"safety": {"adult_content": "maybe"}}, "config.safety.adult_content"),
    ],
)
def test_a_value_outside_its_choices_is_refused_naming_its_field(data: dict, field: str) -> None:
    assert refused(data).field == field


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"colour": "red"}, "config.colour"),
        ({"template": {"font": "serif"}}, "config.template.font"),
        ({"safety": {"nsfw": True}}, "config.safety.nsfw"),
    ],
)
def test_an_unknown_key_is_refused_naming_it(data: dict, field: str) -> None:
    problem = refused(data)

    assert problem.field == field
    assert "unknown field" in problem.detail


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"generation": {"images_per_scene": "5"}}, "config.generation.images_per_scene"),
        ({"generation": {"images_per_scene": "2"}}, "config.generation.images_per_scene"),
        ({"template": {"bgm_volume": -18.0}}, "config.template.bgm_volume"),
        ({"template": {"background_music": 1}}, "config.template.background_music"),
        ({"template": {"background_music": "true"}}, "config.template.background_music"),
        ({"voice": {"speed": "1.0"}}, "config.voice.speed"),
        ({"voice": {"speed": True}}, "config.voice.speed"),
        ({"safety": {"blocked_words": "spam"}}, "config.safety.blocked_words"),
        ({"safety": {"blocked_words": [3]}}, "config.safety.blocked_words[0]"),
        ({"template": "dark"}, "config.template"),
        ({"aspect_ratio": 916}, "config.aspect_ratio"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_without_coercion(data: dict, field: str) -> None:
    assert refused(data).field == field


def test_the_wrong_type_is_described_in_words() -> None:
    assert refused({"generation": {"images_per_scene": "5"}}).detail == "Expected `int`, got `str`"


@pytest.mark.parametrize("data", [None, [], "config", 3])
def test_a_config_that_is_not_an_object_is_refused_naming_config(data: object) -> None:
    assert refused(data).field == "config"


def test_merging_a_section_keeps_its_other_keys() -> None:
    current = validate_config({"template": {"name": "dark", "bgm_volume": -10}})

    merged = merge_config(current, {"template": {"transitions": "zoom"}})

    assert merged["template"] == {
        "name": "dark",
        "transitions": "zoom",
        "transition_duration": 500,
        "background_music": True,
        "bgm_volume": -10,
    }


def test_merging_one_section_leaves_the_other_sections_alone() -> None:
    current = validate_config({"voice": {"language": "en"}, "safety": {"blocked_words": ["gore"]}})

    merged = merge_config(current, {"generation": {"images_per_scene": 3}})

    assert merged["voice"] == current["voice"]
    assert merged["safety"]["blocked_words"] == ["gore"]
    assert merged["generation"]["images_per_scene"] == 3
    assert merged["generation"]["retry_attempts"] == 3


def test_merging_a_top_level_value_replaces_it() -> None:
    merged = merge_config(default_config(), {"aspect_ratio": "16:9"})

    assert merged == {**DEFAULTS, "aspect_ratio": "16:9"}


def test_merging_a_list_replaces_it_whole() -> None:
    current = validate_config({"safety": {"blocked_words": ["a", "b"]}})

    merged = merge_config(current, {"safety": {"blocked_words": ["c"]}})

    assert merged["safety"]["blocked_words"] == ["c"]


def test_merging_does_not_change_the_current_config() -> None:
    current = default_config()
    before = copy.deepcopy(current)

    merge_config(current, {"template": {"name": "vivid"}, "aspect_ratio": "1:1"})

    assert current == before


def test_an_empty_patch_returns_the_current_config() -> None:
    assert merge_config(default_config(), {}) == DEFAULTS


def test_merging_fills_defaults_missing_from_an_older_config() -> None:
    assert merge_config({"aspect_ratio": "1:1"}, {"voice": {"speed": 0.5}}) == {
        **DEFAULTS,
        "aspect_ratio": "1:1",
        "voice": {**DEFAULTS["voice"], "speed": 0.5},
    }


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"template": {"bgm_volume": 5}}, "config.template.bgm_volume"),
        ({"template": {"sparkles": True}}, "config.template.sparkles"),
        ({"sparkles": True}, "config.sparkles"),
        ({"generation": {"timeout_seconds": "300"}}, "config.generation.timeout_seconds"),
    ],
)
def test_a_bad_patch_is_refused_naming_the_field(patch: dict, field: str) -> None:
    with pytest.raises(ValidationProblem) as raised:
        merge_config(default_config(), patch)

    assert raised.value.field == field


@pytest.mark.parametrize("patch", [None, [], "dark", 1])
def test_a_patch_that_is_not_an_object_is_refused(patch: object) -> None:
    with pytest.raises(ValidationProblem) as raised:
        merge_config(default_config(), patch)

    assert raised.value.field == "config"


@pytest.mark.parametrize("section", ["template", "voice", "generation", "safety"])
def test_a_section_patch_that_is_not_an_object_is_refused_naming_the_section(section: str) -> None:
    with pytest.raises(ValidationProblem) as raised:
        merge_config(default_config(), {section: ["not", "an", "object"]})

    assert raised.value.field == f"config.{section}"


def test_there_are_three_builtin_presets_and_classic_clean_is_the_default() -> None:
    names = [preset["name"] for preset in BUILTIN_PRESETS]

    assert names == ["Classic Clean", "Dark Glass", "Vivid Gradient"]
    assert [preset["is_default"] for preset in BUILTIN_PRESETS] == [True, False, False]


def test_builtin_presets_have_fixed_distinct_uuids() -> None:
    ids = [preset["id"] for preset in BUILTIN_PRESETS]

    assert len(set(ids)) == 3
    for preset_id in ids:
        assert str(uuid.UUID(preset_id)) == preset_id


def test_builtin_presets_hold_full_valid_configs() -> None:
    for preset in BUILTIN_PRESETS:
        assert validate_config(preset["config"]) == preset["config"]
        assert set(preset["config"]) == set(DEFAULTS)


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("Classic Clean", ("classic", "fade", 500, True, -18)),
        ("Dark Glass", ("dark", "zoom", 800, True, -20)),
        ("Vivid Gradient", ("vivid", "fade", 600, True, -16)),
    ],
)
def test_builtin_presets_carry_their_documented_template(name: str, template: tuple) -> None:
    (preset,) = [p for p in BUILTIN_PRESETS if p["name"] == name]
    config = preset["config"]

    assert (
        config["template"]["name"],
        config["template"]["transitions"],
        config["template"]["transition_duration"],
        config["template"]["background_music"],
        config["template"]["bgm_volume"],
    ) == template
    assert {k: v for k, v in config.items() if k != "template"} == {
        k: v for k, v in DEFAULTS.items() if k != "template"
    }


def test_the_config_struct_is_strict() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"template": {"bgm_volume": "-18"}}, ProjectConfig)


def test_the_refresh_on_failure_setting_is_0_or_1_and_refused_by_name_otherwise() -> None:
    """AVM_CACHE_REFRESH_ON_FAILURE (issue 17, several processes on one database): a value that is not 0 or 1
    stops the start, rather than silently leaving the processes to answer from stale cached copies."""
    import pytest

    from domain.application import AvmApplication

    for raw, on in (("0", False), ("1", True)):
        app = AvmApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "AVM_CACHE_REFRESH_ON_FAILURE": raw})
        assert app.repository.refresh_on_failure is on
    for raw in ("true", "yes", "2", " 1"):
        with pytest.raises(ValueError, match="AVM_CACHE_REFRESH_ON_FAILURE"):
            AvmApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "AVM_CACHE_REFRESH_ON_FAILURE": raw})
