"""The service key that seals users' model API keys at rest (AES-256-GCM), kept outside the database and the log.

A secret (at least 32 bytes: `AVM_MODEL_KEYS_SECRET`, `AVM_MODEL_KEYS_SECRET_FILE`, else one generated
once into <secrets dir>/model_keys.secret, mode 600) is never used directly: HKDF-SHA256 derives from it
the AES key, the HMAC key of fingerprints and a key id. Several secrets may be given (separated by
whitespace or commas): the first seals, every one opens, so the service key can rotate. The associated
data binds a ciphertext to its tenant and provider: a row copied to another tenant or provider does not open.
See docs/security.md ("Model API keys") and docs/decisions/i13-modelkeys.md.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from eventstore.checkpoint import secrets_dir

SECRET_ENV = "AVM_MODEL_KEYS_SECRET"
FILE_NAME = "model_keys.secret"
MIN_SECRET_BYTES = 32
NONCE_BYTES = 12
_SEPARATORS = re.compile(r"[\s,]+")


class KeyringProblem(Exception):
    """Raised when the service key is misconfigured, missing while sealed keys exist, or cannot open a ciphertext."""


class Unsealable(KeyringProblem):
    """Raised when a ciphertext does not open: altered, bound to another tenant or provider, or sealed
    with a service key this keyring does not hold."""


@dataclass(frozen=True)
class Sealed:
    """A sealed model key: which service key sealed it, the nonce, and the ciphertext (with its GCM tag)."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


def associated_data(tenant_id: str, provider: str) -> bytes:
    """What a ciphertext is bound to (authenticated, not encrypted)."""
    return b"avm-model-key/1\x00" + str(tenant_id).encode("ascii") + b"\x00" + provider.encode("ascii")


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"avm model keys: " + purpose).derive(secret)


@dataclass(frozen=True)
class _ServiceKey:
    key_id: str
    aead: AESGCM
    mac_key: bytes


class Keyring:
    """The service keys: the first seals and fingerprints, each opens what it sealed."""

    def __init__(self, secret_values: Sequence[bytes]) -> None:
        if not secret_values:
            raise KeyringProblem(f"{SECRET_ENV}: no secret given")
        keys = []
        for value in secret_values:
            if len(value) < MIN_SECRET_BYTES:
                raise KeyringProblem(f"{SECRET_ENV}: each secret must be at least {MIN_SECRET_BYTES} bytes"
                                     f" (e.g. `openssl rand -base64 32`)")
            keys.append(_ServiceKey(key_id=_derive(value, b"key id")[:6].hex(),
                                    aead=AESGCM(_derive(value, b"aes-256-gcm")),
                                    mac_key=_derive(value, b"fingerprint")))
        self._keys = {k.key_id: k for k in reversed(keys)}  # the first wins should two ids collide
        self._primary = keys[0]

    @classmethod
    def from_text(cls, text: str) -> Keyring:
        return cls([part.encode("utf-8") for part in _SEPARATORS.split(text.strip()) if part])

    @property
    def primary_id(self) -> str:
        return self._primary.key_id

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def seal(self, plaintext: str, *, tenant_id: str, provider: str) -> Sealed:
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = self._primary.aead.encrypt(nonce, plaintext.encode("utf-8"), associated_data(tenant_id, provider))
        return Sealed(self._primary.key_id, nonce, ciphertext)

    def open(self, sealed: Sealed, *, tenant_id: str, provider: str) -> str:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise Unsealable(f"sealed with service key {sealed.key_id}, which is not configured"
                             f" (configured: {', '.join(sorted(self._keys))})")
        try:
            return key.aead.decrypt(bytes(sealed.nonce), bytes(sealed.ciphertext),
                                    associated_data(tenant_id, provider)).decode("utf-8")
        except InvalidTag:
            raise Unsealable("the ciphertext does not open for this tenant and provider"
                             " (altered, moved, or sealed with another key)") from None

    def fingerprint(self, plaintext: str, *, tenant_id: str, provider: str) -> str:
        """A keyed hash of the key (HMAC-SHA256, 128 bits shown), per tenant and provider: it tells two keys
        apart without a way to test guesses offline, and the same key of two tenants does not match."""
        message = associated_data(tenant_id, provider) + b"\x00" + plaintext.encode("utf-8")
        return hmac.new(self._primary.mac_key, message, hashlib.sha256).hexdigest()[:32]


def configured_secret(env: Mapping[str, str] | None = None, *, name: str = SECRET_ENV) -> str | None:
    """$AVM_MODEL_KEYS_SECRET, or the content of the file $AVM_MODEL_KEYS_SECRET_FILE names, or None
    (`name`: another secret of the same form, e.g. the data master key of eventstore/datakeys.py)."""
    env = os.environ if env is None else env
    value, path = env.get(name), env.get(name + "_FILE")
    if value and path:
        raise KeyringProblem(f"set {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyringProblem(f"{name}_FILE: cannot read {path}: {exc.__class__.__name__}") from None
    return value or None


def secret_path() -> Path:
    return secrets_dir() / FILE_NAME


def load_keyring(configured: str | None, *, in_use: Callable[[], int], path: Path | None = None,
                 name: str = SECRET_ENV, what: str = "model key(s)") -> Keyring:
    """The keyring of the configured secret, else of the secret file, generated (mode 600) only while no
    model key is stored: once keys were sealed, a missing secret is an error, never silently replaced
    (a new one would leave every stored key unopenable)."""
    if configured is not None:
        return Keyring.from_text(configured)
    path = path or secret_path()
    if path.exists():
        return Keyring.from_text(path.read_text(encoding="utf-8"))
    stored = in_use()
    if stored:
        raise KeyringProblem(
            f"the secret {path} is missing but {stored} {what} are sealed with it: restore it"
            f" ({name}, {name}_FILE or AVM_SECRETS_DIR); it is never regenerated silently")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n"
    # Written whole under a temporary name, then linked into place: a concurrent starter either wins
    # the link or reads the winner's complete file, never a half-written one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        os.link(tmp, path)
    except FileExistsError:  # another process made it first: use theirs
        return Keyring.from_text(path.read_text(encoding="utf-8"))
    finally:
        tmp.unlink(missing_ok=True)
    return Keyring.from_text(text)
