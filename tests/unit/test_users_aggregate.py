"""Specifications of the User aggregate: given events, when a command, then events (or an error)."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from domain.application import hash_token
from domain.errors import Conflict, Forbidden, NotFound, ValidationProblem
from domain.users import SETTINGS_DEFAULT, User
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

PLAINTEXT = "avm_Q2hvb3NlIGEgc2VjcmV0IHRoYXQgbm9ib2R5IGNhbiBndWVzcw"
TOKEN_ID = "0b7e1b8a-0000-4000-8000-00000000000a"
ISSUED_AT = "2025-01-02T03:04:05+00:00"
REVOKED_AT = "2025-02-03T04:05:06+00:00"


def state(user: User) -> tuple[Any, ...]:
    return (user.email, user.name, user.image, user.role, user.settings, user.tokens,
            user.tenant_id, user.deleted)


def registered(*commands: Callable[[User], Any], role: str = "user") -> list[Any]:
    return history(User.register(email="ada@example.com", name="Ada", role=role), *commands)


def issue(token_id: str = TOKEN_ID, name: str = "laptop", plaintext: str = PLAINTEXT) -> Callable[[User], Any]:
    return lambda u: u.issue_token(token_id=token_id, name=name, token_hash=hash_token(plaintext).hex(),
                                   prefix=plaintext[:8], issued_at=ISSUED_AT, expires_at=None)


def defaults_with(**sections: Any) -> dict[str, Any]:
    settings = copy.deepcopy(SETTINGS_DEFAULT)
    for key, value in sections.items():
        settings[key] = {**settings[key], **value} if isinstance(value, dict) else value
    return settings


# -- register ---------------------------------------------------------------------------------
def test_registering_a_user_records_registered_and_makes_it_its_own_tenant() -> None:
    events = when_new(lambda: User.register(email="  ada@example.com ", name="Ada", role="premium"))

    then(events, Recorded("Registered", email="ada@example.com", name="Ada", role="premium"))
    user = given(*events)
    assert user.tenant_id == str(user.id)
    assert (user.image, user.settings, user.tokens) == (None, SETTINGS_DEFAULT, {})


@pytest.mark.parametrize("email", ["", "ada", "ada@example", "ada@@example.com", "a da@example.com",
                                   "@example.com", "ada@example.", f"{'a' * 65}@example.com"])
def test_registering_with_a_malformed_email_is_refused(email: str) -> None:
    with then_raises(ValidationProblem, field="email"):
        when_new(lambda: User.register(email=email, name="Ada", role="user"))


@pytest.mark.parametrize("role", ["user", "premium", "admin"])
def test_every_role_of_the_domain_can_be_registered(role: str) -> None:
    then(when_new(lambda: User.register(email="ada@example.com", name=None, role=role)),
         Recorded("Registered", role=role))


@pytest.mark.parametrize("role", ["", "root", "Admin", "superuser"])
def test_registering_with_an_unknown_role_is_refused(role: str) -> None:
    with then_raises(ValidationProblem, field="role"):
        when_new(lambda: User.register(email="ada@example.com", name="Ada", role=role))


# -- profile ----------------------------------------------------------------------------------
def test_a_new_name_records_renamed() -> None:
    user = given(*registered())

    then(when(user, lambda u: u.update_profile(name="Ada Lovelace")), Recorded("Renamed", name="Ada Lovelace"))
    assert user.name == "Ada Lovelace"


def test_a_new_image_records_image_changed() -> None:
    then(when(given(*registered()), lambda u: u.update_profile(image="https://img.example/ada.png")),
         Recorded("ImageChanged", image="https://img.example/ada.png"))


def test_new_settings_record_settings_changed_with_the_whole_merged_settings() -> None:
    user = given(*registered())

    events = when(user, lambda u: u.update_profile(settings={"theme": "dark"}))

    then(events, Recorded("SettingsChanged", settings=defaults_with(theme="dark")))
    assert user.settings == defaults_with(theme="dark")


def test_changing_name_image_and_settings_at_once_records_one_event_each_in_that_order() -> None:
    events = when(given(*registered()), lambda u: u.update_profile(
        name="Countess", image="https://img.example/c.png", settings={"language": "en"}))

    then(events, Recorded("Renamed", name="Countess"), Recorded("ImageChanged", image="https://img.example/c.png"),
         Recorded("SettingsChanged", settings=defaults_with(language="en")))


@pytest.mark.parametrize("changes", [
    {},
    {"name": "Ada"},
    {"image": "https://img.example/ada.png"},
    {"settings": {}},
    {"settings": {"theme": "system", "notifications": {"email": True}}},
    {"name": "Ada", "image": "https://img.example/ada.png", "settings": {"privacy": {"analytics": False}}},
], ids=["nothing", "same-name", "same-image", "empty-settings", "same-settings", "all-the-same"])
def test_a_profile_update_that_changes_nothing_records_nothing(changes: dict[str, Any]) -> None:
    user = given(*registered(lambda u: u.update_profile(image="https://img.example/ada.png")))

    then_nothing(when(user, lambda u: u.update_profile(**changes)))


def test_settings_are_merged_section_by_section() -> None:
    user = given(*registered(lambda u: u.update_profile(
        settings={"language": "en", "notifications": {"discord": True}})))

    events = when(user, lambda u: u.update_profile(settings={"notifications": {"webhook": True}}))

    expected = defaults_with(language="en", notifications={"email": True, "discord": True, "webhook": True})
    then(events, Recorded("SettingsChanged", settings=expected))
    assert user.settings == expected


def test_generation_defaults_are_a_config_patch_merged_section_by_section() -> None:
    user = given(*registered(lambda u: u.update_profile(
        settings={"generation_defaults": {"voice": {"type": "male"}, "aspect_ratio": "16:9"}})))

    events = when(user, lambda u: u.update_profile(
        settings={"generation_defaults": {"aspect_ratio": "1:1", "voice": {"speed": 1.5}}}))

    expected = {"aspect_ratio": "1:1", "voice": {"type": "male", "speed": 1.5}}
    then(events, Recorded("SettingsChanged", settings=defaults_with(generation_defaults=expected)))
    assert user.generation_defaults == expected  # only the keys given: nothing filled in from the system defaults


@pytest.mark.parametrize(("defaults", "field"), [
    ({"aspect_ratio": "4:3"}, "settings.generation_defaults.aspect_ratio"),
    ({"voice": "male"}, "settings.generation_defaults.voice"),
    ({"voice": {"speed": 9}}, "settings.generation_defaults.voice.speed"),
    ({"template": {"colour": "red"}}, "settings.generation_defaults.template.colour"),
    ({"colour": "red"}, "settings.generation_defaults.colour"),
    ({"generation": {"images_per_scene": True}}, "settings.generation_defaults.generation.images_per_scene"),
])
def test_generation_defaults_that_are_not_a_valid_config_are_refused_naming_the_path(
        defaults: dict[str, Any], field: str) -> None:
    user = given(*registered(lambda u: u.update_profile(settings={"generation_defaults": {"aspect_ratio": "1:1"}})))

    with then_raises(ValidationProblem, field=field):
        when(user, lambda u: u.update_profile(settings={"generation_defaults": defaults}))
    assert user.generation_defaults == {"aspect_ratio": "1:1"}


# What a SettingsChanged of the free-form days may carry: keys no config has, values out of bounds,
# a section that is not an object, and valid keys among them.
OLD_DEFAULTS = {
    "voice": "male", "colour": "red", "aspect_ratio": "4:3",
    "template": {"name": "dark", "glow": True, "bgm_volume": 99},
    "generation": {"image_quality": "high", "images_per_scene": "three"},
    "safety": {"blocked_words": ["gore"]},
}
KEPT = {"template": {"name": "dark"}, "generation": {"image_quality": "high"}, "safety": {"blocked_words": ["gore"]}}


def _stored_before_validation(defaults: dict[str, Any]) -> Callable[[User], Any]:
    # The event handler is what replays: recording through it is recording what old code recorded.
    return lambda u: u._change_settings(settings=defaults_with(generation_defaults=defaults))


def test_an_old_settings_event_with_invalid_generation_defaults_folds_and_reads_only_the_valid_keys() -> None:
    events = registered(_stored_before_validation(OLD_DEFAULTS))

    user = given(*events)

    assert user.generation_defaults == KEPT
    assert user.settings["generation_defaults"] == OLD_DEFAULTS  # the record is kept as written
    then_replays(user, events, lambda u: u.generation_defaults)


def test_a_settings_change_after_an_old_invalid_one_keeps_the_valid_keys_and_drops_the_rest() -> None:
    user = given(*registered(_stored_before_validation(OLD_DEFAULTS)))

    events = when(user, lambda u: u.update_profile(settings={"generation_defaults": {"aspect_ratio": "1:1"}}))

    then(events, Recorded("SettingsChanged", settings=defaults_with(generation_defaults={**KEPT, "aspect_ratio": "1:1"})))


def test_the_users_row_shows_only_the_generation_defaults_valid_today() -> None:
    from projections.users import user_row

    user = given(*registered(_stored_before_validation(OLD_DEFAULTS)))

    assert user_row(user)["settings"]["generation_defaults"] == KEPT


@pytest.mark.parametrize(("settings", "field"), [
    ({"colour": "red"}, "settings.colour"),
    ({"notifications": {"sms": True}}, "settings.notifications.sms"),
    ({"privacy": {"tracking": False}}, "settings.privacy.tracking"),
    ({"notifications": True}, "settings.notifications"),
    ({"notifications": {"email": "yes"}}, "settings.notifications.email"),
    ({"theme": "pink"}, "settings.theme"),
    ({"language": "fr"}, "settings.language"),
    ({"timezone": ""}, "settings.timezone"),
    ({"timezone": 8}, "settings.timezone"),
])
def test_a_bad_or_unknown_setting_is_refused_naming_it(settings: dict[str, Any], field: str) -> None:
    user = given(*registered())

    with then_raises(ValidationProblem, field=field):
        when(user, lambda u: u.update_profile(settings=settings))
    assert user.settings == SETTINGS_DEFAULT


def test_a_profile_update_with_a_bad_setting_records_nothing_at_all() -> None:
    user = given(*registered())

    with then_raises(ValidationProblem, field="settings.colour"):
        when(user, lambda u: u.update_profile(name="Countess", settings={"colour": "red"}))
    assert user.name == "Ada"


def test_a_registered_user_does_not_share_its_settings_with_the_defaults() -> None:
    user = given(*registered(lambda u: u.update_profile(settings={"notifications": {"discord": True}})))

    assert SETTINGS_DEFAULT["notifications"]["discord"] is False
    assert user.settings["notifications"] is not SETTINGS_DEFAULT["notifications"]


# -- role -------------------------------------------------------------------------------------
def test_changing_the_role_records_role_changed_with_the_previous_role() -> None:
    user = given(*registered())

    then(when(user, lambda u: u.change_role("premium")), Recorded("RoleChanged", role="premium", previous="user"))
    assert user.role == "premium"


def test_changing_to_the_same_role_records_nothing() -> None:
    then_nothing(when(given(*registered(role="admin")), lambda u: u.change_role("admin")))


def test_changing_to_an_unknown_role_is_refused() -> None:
    user = given(*registered())

    with then_raises(ValidationProblem, field="role"):
        when(user, lambda u: u.change_role("owner"))
    assert user.role == "user"


# -- tokens -----------------------------------------------------------------------------------
def test_issuing_a_token_records_token_issued_with_only_its_hash() -> None:
    events = when(given(*registered()), issue())

    then(events, Recorded("TokenIssued", token_id=TOKEN_ID, name="laptop", token_hash=hash_token(PLAINTEXT).hex(),
                          prefix=PLAINTEXT[:8], issued_at=ISSUED_AT, expires_at=None))
    recorded = vars(events[0])
    assert not [k for k, v in recorded.items() if PLAINTEXT in str(v)], "the plaintext token was recorded"
    assert not {"token", "plaintext", "secret", "value"} & set(recorded)
    assert len(PLAINTEXT) > len(recorded["prefix"])


def test_an_issued_token_is_kept_with_its_hash_and_not_revoked() -> None:
    user = given(*registered(issue()))

    assert user.tokens[TOKEN_ID] == {"name": "laptop", "token_hash": hash_token(PLAINTEXT).hex(),
                                     "prefix": PLAINTEXT[:8], "issued_at": ISSUED_AT, "expires_at": None,
                                     "revoked_at": None}


def test_issuing_a_token_with_an_id_already_used_is_a_conflict() -> None:
    user = given(*registered(issue()))

    with then_raises(Conflict):
        when(user, issue(name="phone", plaintext="avm_another-secret-altogether"))
    assert user.tokens[TOKEN_ID]["name"] == "laptop"


@pytest.mark.parametrize("name", ["", "n" * 101])
def test_a_token_name_must_be_1_to_100_characters(name: str) -> None:
    with then_raises(ValidationProblem, field="name"):
        when(given(*registered()), issue(name=name))


def test_revoking_a_token_records_token_revoked() -> None:
    user = given(*registered(issue()))

    then(when(user, lambda u: u.revoke_token(TOKEN_ID, REVOKED_AT)),
         Recorded("TokenRevoked", token_id=TOKEN_ID, revoked_at=REVOKED_AT))
    assert user.tokens[TOKEN_ID]["revoked_at"] == REVOKED_AT


def test_revoking_a_revoked_token_again_records_nothing_and_keeps_the_first_time() -> None:
    user = given(*registered(issue(), lambda u: u.revoke_token(TOKEN_ID, REVOKED_AT)))

    then_nothing(when(user, lambda u: u.revoke_token(TOKEN_ID, "2030-01-01T00:00:00+00:00")))
    assert user.tokens[TOKEN_ID]["revoked_at"] == REVOKED_AT


def test_revoking_an_unknown_token_is_not_found() -> None:
    with then_raises(NotFound):
        when(given(*registered(issue())), lambda u: u.revoke_token("no-such-token", REVOKED_AT))


# -- replay -----------------------------------------------------------------------------------
def test_replaying_the_recorded_events_rebuilds_the_same_user() -> None:
    live = User.register(email="ada@example.com", name="Ada", role="user")
    events = history(
        live,
        lambda u: u.update_profile(name="Countess", image="https://img.example/c.png"),
        lambda u: u.update_profile(settings={"theme": "dark", "privacy": {"analytics": True}}),
        lambda u: u.update_profile(settings={"generation_defaults": {"generation": {"images_per_scene": 2}}}),
        lambda u: u.change_role("premium"),
        issue(),
        issue(token_id="second", name="phone", plaintext="avm_phone-secret"),
        lambda u: u.revoke_token(TOKEN_ID, REVOKED_AT),
    )

    then_replays(live, events, state)
    assert live.version == len(events)


# -- bring-your-own model keys --------------------------------------------------------------------------------
FP, FP2 = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
SET_AT = "2025-03-04T05:06:07+00:00"


def set_key(provider: str = "openai", fingerprint: str = FP, last4: str = "wxyz") -> Callable[[User], Any]:
    return lambda u: u.set_model_key(provider, last4=last4, fingerprint=fingerprint, set_at=SET_AT)


@pytest.mark.parametrize("role", ["premium", "admin"])
def test_a_premium_or_admin_user_sets_a_model_key_recording_only_its_last_four_and_fingerprint(role):
    user = given(*registered(role=role))

    events = when(user, set_key())

    then(events, Recorded("ModelKeySet", provider="openai", last4="wxyz", fingerprint=FP, set_at=SET_AT))
    assert user.model_keys == {"openai": {"last4": "wxyz", "fingerprint": FP, "set_at": SET_AT}}


@pytest.mark.parametrize("role", ["user", "worker"])
def test_a_user_who_is_not_premium_cannot_set_a_model_key(role):
    user = given(*registered(role=role))

    with then_raises(Forbidden):
        when(user, set_key())


def test_the_same_key_again_records_nothing_and_another_replaces_it():
    user = given(*registered(set_key(), role="premium"))

    then_nothing(when(user, set_key()))
    then(when(user, set_key(fingerprint=FP2, last4="abcd")), Recorded("ModelKeySet", fingerprint=FP2, last4="abcd"))
    assert user.model_keys["openai"]["fingerprint"] == FP2


def test_removing_a_model_key_records_which_one_and_removing_a_missing_one_is_not_found():
    user = given(*registered(set_key(), set_key("gemini", FP2), role="premium"))

    then(when(user, lambda u: u.remove_model_key("openai")),
         Recorded("ModelKeyRemoved", provider="openai", last4="wxyz", fingerprint=FP))
    assert set(user.model_keys) == {"gemini"}
    with then_raises(NotFound):
        when(user, lambda u: u.remove_model_key("openai"))


def test_a_user_no_longer_premium_may_still_remove_the_key_it_stored():
    user = given(*registered(set_key(), lambda u: u.change_role("user"), role="premium"))

    then(when(user, lambda u: u.remove_model_key("openai")), "ModelKeyRemoved")


@pytest.mark.parametrize("command, field", [
    (set_key(provider="mistral"), "provider"),
    (lambda u: u.remove_model_key("OpenAI"), "provider"),
    (set_key(fingerprint="not-hex"), "key"),
    (set_key(last4="toolong"), "key"),
])
def test_a_malformed_model_key_command_is_refused_naming_the_field(command, field):
    user = given(*registered(set_key(), role="premium"))

    with then_raises(ValidationProblem, field=field):
        when(user, command)


def test_model_keys_replay_to_the_same_state_and_a_user_from_before_them_has_none():
    assert given(*registered()).model_keys == {}
    user = User.register(email="ada@example.com", name="Ada", role="admin")
    events = history(user, set_key(), set_key("anthropic", FP2), lambda u: u.remove_model_key("openai"))

    then_replays(user, events, lambda u: (u.model_keys, u.role))
    assert user.model_keys == {"anthropic": {"last4": "wxyz", "fingerprint": FP2, "set_at": SET_AT}}
