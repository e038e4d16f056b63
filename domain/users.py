"""The User aggregate: a tenant, its profile, role, settings and API tokens."""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from eventsourcing.domain import event

from domain.config import merge_defaults, readable_defaults
from domain.errors import Conflict, Forbidden, NotFound, ValidationProblem
from domain.input_limits import as_written
from domain.redaction import erased_email
from domain.shared import TenantAggregate

ROLES = ("user", "premium", "admin", "worker")
# Bring-your-own model API keys: who may store one, and for which providers.
MODEL_KEY_ROLES = ("premium", "admin")
MODEL_PROVIDERS = ("gemini", "openai", "anthropic")
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_IDENTITIES = 20
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


def readable_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as every reader sees them: generation defaults stored before they were checked
    against the config schema keep only the keys that validate (see `readable_defaults`)."""
    if not isinstance(settings, dict):
        return settings
    return {**settings, "generation_defaults": readable_defaults(settings.get("generation_defaults"))}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationProblem(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def check_provider(provider: str) -> str:
    if provider not in MODEL_PROVIDERS:
        raise ValidationProblem(f"must be one of {', '.join(MODEL_PROVIDERS)}", field="provider")
    return provider


def merge_settings(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge a settings patch section by section and check the known keys."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in current.items()}
    for key, value in patch.items():
        if key not in SETTINGS_DEFAULT:
            raise ValidationProblem("unknown setting", field=f"settings.{key}")
        default = SETTINGS_DEFAULT[key]
        if key == "generation_defaults":  # a partial project config, merged and checked as one
            merged[key] = merge_defaults(merged.get(key), value, field=f"settings.{key}")
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ValidationProblem("expected an object", field=f"settings.{key}")
            for sub, subvalue in value.items():
                if sub not in default:
                    raise ValidationProblem("unknown setting", field=f"settings.{key}.{sub}")
                if not isinstance(subvalue, bool):
                    raise ValidationProblem("expected a boolean", field=f"settings.{key}.{sub}")
            merged[key] = {**merged.get(key, {}), **value}
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

    Lifecycle: Registered, then profile, role, token and identity events. Invariants: the
    role is one of ROLES; a token is issued once and revoked at most once; only
    the hash of a token is ever recorded; an identity (provider, subject) is linked
    once, and the last linked identity cannot be unlinked (it is the way to sign in).
    A model key is set (premium and admin only) and removed per provider; only its last
    four characters and a keyed fingerprint are recorded, never the key (its ciphertext
    lives outside the log).
    """

    # Users registered (or snapshotted) before model keys existed have none: a read-only class default
    # (unannotated, so not a dataclass field); the handlers assign a new dict, never mutate one.
    model_keys = MappingProxyType({})  # provider -> {"last4", "fingerprint", "set_at"}

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
        self.identities: dict[str, dict[str, Any]] = {}

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

    @property
    def generation_defaults(self) -> dict[str, Any]:
        """The user's generation defaults as a partial project config (only keys valid today)."""
        return readable_defaults(self.settings.get("generation_defaults"))

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

    def set_model_key(self, provider: str, *, last4: str, fingerprint: str, set_at: str) -> bool:
        """Record a new or replaced key for `provider`; True when there was none. The same key again
        (same fingerprint) records nothing."""
        self.check_not_deleted()
        check_provider(provider)
        if self.role not in MODEL_KEY_ROLES:
            raise Forbidden(f"model keys are for {' and '.join(MODEL_KEY_ROLES)} users")
        if len(last4) != 4 or not FINGERPRINT_RE.match(fingerprint):
            raise ValidationProblem("malformed fingerprint", field="key")
        current = self.model_keys.get(provider)
        if current is None or current["fingerprint"] != fingerprint:
            self._set_model_key(provider=provider, last4=last4, fingerprint=fingerprint, set_at=set_at)
        return current is None

    def remove_model_key(self, provider: str) -> None:
        """Forget the key of `provider` (any role: a user no longer premium may still delete it)."""
        self.check_not_deleted()
        check_provider(provider)
        current = self.model_keys.get(provider)
        if current is None:
            raise NotFound("model key not found")
        self._remove_model_key(provider=provider, last4=current["last4"], fingerprint=current["fingerprint"])

    # -- linked identities (sign-in, issue 13) ------------------------------------------------
    def identity_of(self, provider: str, subject: str) -> str | None:
        return next((i for i, v in self.identities.items()
                     if v["provider"] == provider and v["subject"] == subject), None)

    def link_identity(self, *, identity_id: str, provider: str, subject: str, email: str, linked_at: str) -> None:
        self.check_not_deleted()
        if self.identity_of(provider, subject) is not None:
            raise Conflict("this identity is already linked to your account")
        if len(self.identities) >= MAX_IDENTITIES:
            raise Conflict(f"at most {MAX_IDENTITIES} identities can be linked")
        self._link_identity(identity_id=identity_id, provider=provider, subject=subject, email=email,
                            linked_at=linked_at)

    def unlink_identity(self, identity_id: str) -> None:
        self.check_not_deleted()
        if identity_id not in self.identities:
            raise NotFound("identity not found")
        if len(self.identities) == 1:
            raise Conflict("the last linked identity cannot be unlinked: it is the way to sign in")
        self._unlink_identity(identity_id=identity_id)

    def record_sign_in_failure(self, provider: str, reason: str) -> None:
        """A refused sign-in with a token the provider did sign for one of this user's identities."""
        if not self.deleted:
            self._sign_in_failed(provider=provider, reason=reason)

    @event("IdentityLinked")
    def _link_identity(self, identity_id: str, provider: str, subject: str, email: str, linked_at: str) -> None:
        self.identities[identity_id] = {"provider": provider, "subject": subject, "email": email,
                                        "linked_at": linked_at}

    @event("IdentityUnlinked")
    def _unlink_identity(self, identity_id: str) -> None:
        del self.identities[identity_id]

    @event("SignInFailed")
    def _sign_in_failed(self, provider: str, reason: str) -> None:
        pass

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

    @event("ModelKeySet")
    def _set_model_key(self, provider: str, last4: str, fingerprint: str, set_at: str) -> None:
        self.model_keys = {**self.model_keys,
                           provider: {"last4": last4, "fingerprint": fingerprint, "set_at": set_at}}

    @event("ModelKeyRemoved")
    def _remove_model_key(self, provider: str, last4: str, fingerprint: str) -> None:
        self.model_keys = {p: k for p, k in self.model_keys.items() if p != provider}

    # -- erasure (issue 15): the tenant's data key is destroyed with this event ------------------
    @property
    def erased(self) -> bool:
        return bool(getattr(self, "erased_at", None))

    def erase(self, at: str) -> None:
        """Forget the user: no email, name, image, token or identity is left in its state, and it is
        deleted (no sign-in). The event itself is non-personal (a time only)."""
        if not self.erased:
            self._erase(at=at)

    @event("Erased")
    def _erase(self, at: str) -> None:
        self.erased_at = at
        self.deleted = True
        self.email = erased_email(self.id)  # unique (emails are) and non-personal
        self.name = None
        self.image = None
        self.tokens = {}
        self.identities = {}
        self.model_keys = {}
