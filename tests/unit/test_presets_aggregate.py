"""Specifications of the Preset aggregate: given events, when a command, then events (or an error)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.config import BUILTIN_PRESETS, default_config
from domain.errors import Conflict, NotFound, ValidationProblem
from domain.presets import Preset
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


def with_template(**template: Any) -> dict[str, Any]:
    config = default_config()
    config["template"] = {**config["template"], **template}
    return config


def created(*commands: Callable[[Preset], Any], **fields: Any) -> list[Any]:
    fields = {"tenant_id": TENANT, "name": "Moody", "config": {"template": {"name": "dark"}}, **fields}
    return history(Preset.create(**fields), *commands)


def state(preset: Preset) -> tuple[Any, ...]:
    return (preset.name, preset.config, preset.deleted, preset.tenant_id)


# -- the built-ins ----------------------------------------------------------------------------
def test_there_are_three_built_in_presets_and_classic_clean_is_the_one_default() -> None:
    assert [p["name"] for p in BUILTIN_PRESETS] == ["Classic Clean", "Dark Glass", "Vivid Gradient"]
    assert [p["name"] for p in BUILTIN_PRESETS if p["is_default"]] == ["Classic Clean"]
    assert [p["config"]["template"]["name"] for p in BUILTIN_PRESETS] == ["classic", "dark", "vivid"]


# -- create -----------------------------------------------------------------------------------
def test_creating_a_preset_records_created_with_its_trimmed_name_and_the_full_config() -> None:
    events = when_new(lambda: Preset.create(tenant_id=TENANT, name="  Moody  ", config={"template": {"name": "dark"}}))

    then(events, Recorded("Created", tenant_id=TENANT, name="Moody", config=with_template(name="dark")))
    assert given(*events).deleted is False


@pytest.mark.parametrize("name", ["M", "m" * 100])
def test_a_name_of_1_to_100_characters_is_accepted(name: str) -> None:
    then(when_new(lambda: Preset.create(tenant_id=TENANT, name=name, config={})), Recorded("Created", name=name))


@pytest.mark.parametrize("name", ["", "   ", "m" * 101])
def test_a_name_that_is_empty_or_over_100_characters_is_refused(name: str) -> None:
    with then_raises(ValidationProblem, field="name"):
        when_new(lambda: Preset.create(tenant_id=TENANT, name=name, config={}))


@pytest.mark.parametrize(("config", "field"), [
    ({"template": {"bgm_volume": 5}}, "config.template.bgm_volume"),
    ({"template": {"name": "neon"}}, "config.template.name"),
    ({"colour": "red"}, "config.colour"),
])
def test_a_config_out_of_bounds_or_with_an_unknown_field_is_refused_naming_it(config: dict[str, Any],
                                                                               field: str) -> None:
    with then_raises(ValidationProblem, field=field):
        when_new(lambda: Preset.create(tenant_id=TENANT, name="Moody", config=config))


# -- rename -----------------------------------------------------------------------------------
def test_renaming_a_preset_records_renamed_with_the_trimmed_name() -> None:
    preset = given(*created())

    then(when(preset, lambda p: p.rename(" Gloomy ")), Recorded("Renamed", name="Gloomy"))
    assert preset.name == "Gloomy"


def test_renaming_a_preset_to_its_own_name_records_nothing() -> None:
    then_nothing(when(given(*created()), lambda p: p.rename("Moody ")))


def test_renaming_to_an_empty_name_is_refused() -> None:
    with then_raises(ValidationProblem, field="name"):
        when(given(*created()), lambda p: p.rename(" "))


# -- reconfigure ------------------------------------------------------------------------------
def test_reconfiguring_merges_the_patch_into_its_section_and_records_the_whole_config() -> None:
    preset = given(*created())

    then(when(preset, lambda p: p.reconfigure({"template": {"bgm_volume": -25}})),
         Recorded("Reconfigured", config=with_template(name="dark", bgm_volume=-25)))
    assert preset.config["template"]["name"] == "dark"


def test_a_patch_that_changes_nothing_records_nothing() -> None:
    then_nothing(when(given(*created()), lambda p: p.reconfigure({"template": {"name": "dark"}})))


@pytest.mark.parametrize(("patch", "field"), [
    ({"voice": {"speed": 3}}, "config.voice.speed"), ({"voice": "fast"}, "config.voice"), ([], "config")])
def test_a_patch_that_would_make_the_config_invalid_is_refused_naming_the_field(patch: Any, field: str) -> None:
    with then_raises(ValidationProblem, field=field):
        when(given(*created()), lambda p: p.reconfigure(patch))


# -- delete and restore -----------------------------------------------------------------------
def test_deleting_and_restoring_a_preset_records_deleted_then_restored() -> None:
    preset = given(*created())

    then(when(preset, lambda p: p.delete()), "Deleted")
    assert preset.deleted
    then(when(preset, lambda p: p.restore()), "Restored")
    assert not preset.deleted


@pytest.mark.parametrize("command", [lambda p: p.rename("Other"), lambda p: p.reconfigure({"aspect_ratio": "1:1"}),
                                     lambda p: p.delete()], ids=["rename", "reconfigure", "delete"])
def test_a_deleted_preset_accepts_no_change_but_restore(command: Callable[[Preset], Any]) -> None:
    with then_raises(NotFound):
        when(given(*created(lambda p: p.delete())), command)


def test_a_preset_that_is_not_deleted_cannot_be_restored() -> None:
    with then_raises(Conflict):
        when(given(*created()), lambda p: p.restore())


# -- replay -----------------------------------------------------------------------------------
def test_a_preset_is_rebuilt_from_its_events() -> None:
    preset = Preset.create(tenant_id=TENANT, name="Moody", config={})
    events = history(preset, lambda p: p.rename("Gloomy"), lambda p: p.reconfigure({"voice": {"language": "en"}}),
                     lambda p: p.delete(), lambda p: p.restore())

    then_replays(preset, events, state)
