"""A new project's config: system defaults, under the preset (named, else the user's default), under the
user's generation defaults, under the request's own config; generation defaults are a checked config patch."""
from __future__ import annotations

from typing import Any

import pytest

from domain.config import BUILTIN_PRESETS, default_config
from tests.http.helpers import assert_problem, count_events, create_project

ME = "/api/v1/me"
PRESETS = "/api/v1/presets"
DARK_GLASS = next(p for p in BUILTIN_PRESETS if p["name"] == "Dark Glass")
VIVID = next(p for p in BUILTIN_PRESETS if p["name"] == "Vivid Gradient")
SYSTEM = default_config()


def set_defaults(client: Any, who: Any, defaults: dict[str, Any]) -> Any:
    r = client.patch(ME, json={"settings": {"generation_defaults": defaults}}, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def own_default_preset(client: Any, who: Any, config: dict[str, Any]) -> str:
    r = client.post(PRESETS, json={"name": "Mine", "config": config, "is_default": True}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_without_defaults_a_project_gets_the_system_defaults(client, tenant):
    project = create_project(client, tenant)

    assert project["config"] == SYSTEM
    assert project["preset_id"] is None


def test_a_project_created_without_a_preset_takes_the_users_default_preset(client, tenant):
    preset = own_default_preset(client, tenant, {"aspect_ratio": "1:1", "template": {"name": "dark"},
                                                 "voice": {"type": "male"}})

    project = create_project(client, tenant)

    assert project["preset_id"] == preset
    assert project["config"]["aspect_ratio"] == "1:1"
    assert project["config"]["template"] == {**SYSTEM["template"], "name": "dark"}
    assert project["config"]["voice"] == {**SYSTEM["voice"], "type": "male"}


def test_a_built_in_chosen_as_default_is_applied_too(client, tenant):
    assert client.post(f"{PRESETS}/{DARK_GLASS['id']}/default", headers=tenant.headers).status_code == 200

    project = create_project(client, tenant)

    assert project["config"] == DARK_GLASS["config"]
    assert project["preset_id"] == DARK_GLASS["id"]


def test_a_project_takes_the_users_generation_defaults(client, tenant):
    set_defaults(client, tenant, {"aspect_ratio": "16:9", "voice": {"language": "en", "speed": 1.25}})

    project = create_project(client, tenant)

    assert project["config"] == {**SYSTEM, "aspect_ratio": "16:9",
                                 "voice": {**SYSTEM["voice"], "language": "en", "speed": 1.25}}


def test_generation_defaults_override_the_default_preset_and_the_request_overrides_both(client, tenant):
    own_default_preset(client, tenant, {"aspect_ratio": "1:1",
                                        "template": {"name": "dark", "transitions": "zoom", "bgm_volume": -20}})
    set_defaults(client, tenant, {"aspect_ratio": "16:9", "template": {"bgm_volume": -5}})

    project = create_project(client, tenant, config={"template": {"transitions": "none"}})

    assert project["config"]["aspect_ratio"] == "16:9"                       # defaults over preset
    assert project["config"]["template"] == {**SYSTEM["template"], "name": "dark",  # preset over system
                                             "bgm_volume": -5,                 # defaults over preset
                                             "transitions": "none"}            # request over all


def test_the_requests_own_config_wins_over_the_generation_defaults(client, tenant):
    set_defaults(client, tenant, {"aspect_ratio": "16:9", "generation": {"images_per_scene": 3, "image_quality": "high"}})

    project = create_project(client, tenant, config={"aspect_ratio": "9:16", "generation": {"images_per_scene": 2}})

    assert project["config"]["aspect_ratio"] == "9:16"
    assert project["config"]["generation"]["images_per_scene"] == 2
    assert project["config"]["generation"]["image_quality"] == "high"  # the request wins key by key, not by section


def test_a_named_preset_wins_over_the_users_default_preset(client, tenant):
    own_default_preset(client, tenant, {"template": {"name": "dark"}, "voice": {"type": "male"}})
    set_defaults(client, tenant, {"aspect_ratio": "1:1"})

    project = create_project(client, tenant, preset_id=VIVID["id"])

    assert project["preset_id"] == VIVID["id"]
    assert project["config"] == {**VIVID["config"], "aspect_ratio": "1:1"}  # the default preset plays no part


def test_a_deleted_default_preset_no_longer_applies(client, tenant):
    preset = own_default_preset(client, tenant, {"template": {"name": "dark"}})
    assert client.delete(f"{PRESETS}/{preset}", headers=tenant.headers).status_code == 204

    project = create_project(client, tenant)

    assert project["config"] == SYSTEM and project["preset_id"] is None


def test_one_users_defaults_never_reach_another_users_projects(client, tenant, other_tenant):
    own_default_preset(client, tenant, {"template": {"name": "dark"}})
    set_defaults(client, tenant, {"aspect_ratio": "1:1"})

    assert create_project(client, other_tenant)["config"] == SYSTEM


@pytest.mark.parametrize("defaults, field", [
    ({"aspect_ratio": "4:3"}, "settings.generation_defaults.aspect_ratio"),
    ({"voice": {"speed": 3}}, "settings.generation_defaults.voice.speed"),
    ({"template": {"name": "neon"}}, "settings.generation_defaults.template.name"),
    ({"colour": "red"}, "settings.generation_defaults.colour"),
    ({"voice": "male"}, "settings.generation_defaults.voice"),
    ({"safety": {"blocked_words": [""]}}, "settings.generation_defaults.safety.blocked_words.0"),
])
def test_generation_defaults_that_are_not_a_valid_config_are_refused_naming_the_path_and_nothing_is_written(
        client, services, tenant, defaults, field):
    set_defaults(client, tenant, {"aspect_ratio": "1:1"})
    before = count_events(services, tenant.id)

    r = client.patch(ME, json={"settings": {"generation_defaults": defaults}}, headers=tenant.headers)

    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == [field], body
    assert count_events(services, tenant.id) == before
    assert client.get(ME, headers=tenant.headers).json()["settings"]["generation_defaults"] == {"aspect_ratio": "1:1"}


def test_generation_defaults_are_merged_section_by_section_and_read_back(client, tenant):
    set_defaults(client, tenant, {"voice": {"type": "male"}, "aspect_ratio": "16:9"})

    me = set_defaults(client, tenant, {"voice": {"speed": 1.5}})

    assert me["settings"]["generation_defaults"] == {"voice": {"type": "male", "speed": 1.5}, "aspect_ratio": "16:9"}
    assert client.get(ME, headers=tenant.headers).json()["settings"]["generation_defaults"] == \
        me["settings"]["generation_defaults"]


def test_generation_defaults_stored_before_they_were_checked_are_read_tolerantly(client, services, tenant):
    # A SettingsChanged of the free-form days, recorded through the event itself as the old code did.
    from domain.application import CommandContext
    from domain.users import User

    user = services.app.load(User, tenant.id, tenant.id)
    old = {"voice": "male", "colour": "red", "aspect_ratio": "16:9", "template": {"name": "dark", "glow": 1}}
    user._change_settings(settings={**user.settings, "generation_defaults": old})
    services.app._save(CommandContext.system("tests").for_tenant(tenant.id), user)
    services.app.forget_cached()  # fold it afresh from the events

    assert client.get(ME, headers=tenant.headers).json()["settings"]["generation_defaults"] == \
        {"aspect_ratio": "16:9", "template": {"name": "dark"}}
    project = create_project(client, tenant)
    assert project["config"]["aspect_ratio"] == "16:9" and project["config"]["template"]["name"] == "dark"
    me = set_defaults(client, tenant, {"voice": {"type": "female"}})  # the odd keys never block a change
    assert me["settings"]["generation_defaults"] == {"aspect_ratio": "16:9", "template": {"name": "dark"},
                                                     "voice": {"type": "female"}}
