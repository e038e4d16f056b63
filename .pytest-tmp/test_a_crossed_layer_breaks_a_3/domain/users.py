"""The User aggregate: a tenant, its profile, role, settings and API tokens."""
from __future__ import annotations

import re
from typing import Any

from eventsourcing.domain import event

from domain.errors import Conflict, NotFound, ValidationProblem
from domain.input_limits import as_written, free_form_errors
from domain.shared import TenantAggregate

ROLES = ("user", "premium", "admin", "worker")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
SETTINGS_DEFAULT: dict[str, Any] = {
    "language": "zh-TW",
    "timezone": "Asia/Taipei",
    "theme": "system",
    "notifications": {"email": True, "discord": False, "webhook": False},
    "privacy": {"analytics": False, "error_reporting": True},
    "generation_defaults": {},
}
_SETTINGS_CHOICES = {"language": ("zh-TW", "en"), "theme": ("light", "dark", "system")}


def normalise_email(email: str) -> str:
    email = email.strip()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationProblem("not a valid email address", field="email")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationProblem(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def merge_settings(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge a settings patch section by section and check the known keys."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in current.items()}
    for key, value in patch.items():
        if key not in SETTINGS_DEFAULT:
            raise ValidationProblem("unknown setting", field=f"settings.{key}")
        default = SETTINGS_DEFAULT[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ValidationProblem("expected an object", field=f"settings.{key}")
            if key != "generation_defaults":
                for sub, subvalue in value.items():
                    if sub not in default:
                        raise ValidationProblem("unknown setting", field=f"settings.{key}.{sub}")
                    if not isinstance(subvalue, bool):
                        raise ValidationProblem("expected a boolean", field=f"settings.{key}.{sub}")
            merged[key] = {**merged.get(key, {}), **value}
            if key == "generation_defaults":  # merged key by key: the result must stay within the limits
                for field, reason in free_form_errors(merged[key], f"settings.{key}")[:1]:
                    raise ValidationProblem(reason, field=field)
        else:
            if not isinstance(value, str) or not 1 <= len(value) <= 64:
                raise ValidationProblem("expected a string of 1 to 64 characters", field=f"settings.{key}")
            choices = _SETTINGS_CHOICES.get(key)
            if choices and value not in choices:
                raise ValidationProblem(f"must be one of {', '.join(choices)}", field=f"settings.{key}")
            merged[key] = value
    return merged


class User(TenantAggregate):
    """A user is a tenant: it owns everything it creates.

    Lifecycle: Registered, then profile, role and token events. Invariants: the
    role is one of ROLES; a token is issued once and revoked at most once; only
    the hash of a token is ever recorded.
    """

    @event("Registered")
    def __init__(self, email: str, name: str | None, role: str) -> None:
        self.tenant_id = str(self.id)
        self.email = email
        self.name = name
        self.image: str | None = None
        self.role = role
        self.settings: dict[str, Any] = dict(SETTINGS_DEFAULT)
        self.tokens: dict[str, dict[str, Any]] = {}
        self.default_preset_id: str | None = None

    @classmethod
    def register(cls, email: str, name: str | None, role: str) -> User:
        return cls(email=normalise_email(email), name=name, role=check_role(role))

    def update_profile(self, *, name: str | None = None, image: str | None = None,
                       settings: dict[str, Any] | None = None) -> None:
        self.check_not_deleted()
        merged = merge_settings(self.settings, settings) if settings else self.settings
        if name is not None and name != self.name:
            self._rename(name=name)
        if image is not None and image != self.image:
            self._change_image(image=image)
        if merged != self.settings:
            self._change_settings(settings=merged)

    def change_role(self, role: str) -> None:
        self.check_not_deleted()
        check_role(role)
        if role != self.role:
            self._change_role(role=role, previous=self.role)

    def issue_token(self, *, token_id: str, name: str, token_hash: str, prefix: str,
                    issued_at: str, expires_at: str | None) -> None:
        self.check_not_deleted()
        if token_id in self.tokens:
            raise Conflict("token id already used")
        if not 1 <= len(name) <= 100:
            raise ValidationProblem("must be 1 to 100 characters", field="name")
        self._issue_token(token_id=token_id, name=name, token_hash=token_hash, prefix=prefix,
                          issued_at=issued_at, expires_at=expires_at)

    def revoke_token(self, token_id: str, revoked_at: str) -> None:
        self.check_not_deleted()
        token = self.tokens.get(token_id)
        if token is None:
            raise NotFound("token not found")
        if token["revoked_at"] is not None:
            return
        self._revoke_token(token_id=token_id, revoked_at=revoked_at)

    def choose_default_preset(self, preset_id: str | None) -> None:
        self.check_not_deleted()
        if preset_id != self.default_preset_id:
            self._choose_default_preset(preset_id=preset_id)

    @event("DefaultPresetChosen")
    def _choose_default_preset(self, preset_id: str | None) -> None:
        self.default_preset_id = preset_id

    @event("Renamed")
    def _rename(self, name: str) -> None:
        self.name = name

    @event("ImageChanged")
    def _change_image(self, image: str) -> None:
        self.image = image

    @event("SettingsChanged")
    def _change_settings(self, settings: dict[str, Any]) -> None:
        self.settings = as_written(settings)  # a stored tag lookalike reads back as written

    @event("RoleChanged")
    def _change_role(self, role: str, previous: str) -> None:
        self.role = role

    @event("TokenIssued")
    def _issue_token(self, token_id: str, name: str, token_hash: str, prefix: str,
                     issued_at: str, expires_at: str | None) -> None:
        self.tokens[token_id] = {
            "name": name, "token_hash": token_hash, "prefix": prefix,
            "issued_at": issued_at, "expires_at": expires_at, "revoked_at": None,
        }

    @event("TokenRevoked")
    def _revoke_token(self, token_id: str, revoked_at: str) -> None:
        self.tokens[token_id]["revoked_at"] = revoked_at
