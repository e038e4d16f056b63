"""Front-end JWTs (issue 13 item 4): a JWT minted by the web front end (NextAuth style) accepted as
the bearer credential and mapped to an existing user. Off unless AVM_FRONTEND_JWT_SECRET or
AVM_FRONTEND_JWT_PUBLIC_KEY is set.

PyJWT verifies the token (signature, `exp`, `nbf`, `iat`, `iss`, `aud`); the algorithms are pinned
by the configured key (HS256 for a secret; RS256/PS256, ES256 or EdDSA for a public key), never
taken from the token. This module says who the token names; api/services.py finds that user and
gives the role (never from the token); api/auth.py limits the rejects per client address.
See docs/security.md ("Front-end JWTs") and docs/decisions/i13-frontjwt.md.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from litestar.exceptions import TooManyRequestsException
from prometheus_client import Counter

from api.envvars import whole_number

log = logging.getLogger("avm.frontend_jwt")

PREFIX = "AVM_FRONTEND_JWT_"
MIN_SECRET_BYTES = 32
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 8192
MAX_EMAIL_CHARS = 254

# Process-wide, like the registry they live in (on /metrics).
REJECTED = Counter("avm_frontend_jwt_rejected", "Front-end JWTs refused, by reason (the answer is the same 401"
                   " for every reason but rate_limited, a 429)", ["reason"])
ACCEPTED = Counter("avm_frontend_jwt_accepted", "Front-end JWTs verified and mapped to a user (once per token"
                   " and token-cache period, not per request)")

# PyJWT's refusals, most specific first, and the reason each is counted under.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidAlgorithmError, "algorithm"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuerError, "issuer"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
)


class FrontendJwtConfigError(ValueError):
    """A front-end JWT setting the service refuses to start with (one line, naming the variable)."""


class Rejected(Exception):
    """A front-end JWT that does not authenticate anyone; `reason` labels the reject counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Claimed:
    """Whom a verified token names (the user id, or a verified email) and until when it is valid
    (`exp`, seconds since the epoch)."""

    user_id: UUID | None
    email: str | None
    expires_at: float


def is_jwt(token: str) -> bool:
    """Whether a bearer value is meant as a JWT (API tokens, `avm_` + URL-safe base64, have no dot)."""
    return "." in token and not token.startswith("avm_")


class FailedAttempts:
    """Rejected front-end JWTs per client address, in fixed one-minute windows: past `limit` in a
    window, that address's JWTs are answered 429 without being verified until the window ends."""

    def __init__(self, limit: int, window: float = 60.0, *, what: str = "rejected front-end JWTs",
                 refusal: str = "too many rejected bearer tokens from this address",
                 blocked: Callable[[], None] | None = None) -> None:
        self.limit, self.window, self.what, self.refusal = limit, window, what, refusal
        self.blocked = blocked or (lambda: REJECTED.labels(reason="rate_limited").inc())
        self._counts: dict[str, tuple[float, int]] = {}

    def refuse_if_blocked(self, client: str) -> None:
        if self.limit <= 0:
            return
        started, count = self._counts.get(client, (0.0, 0))
        wait = started + self.window - time.monotonic()
        if count >= self.limit and wait > 0:
            self.blocked()
            raise TooManyRequestsException(
                f"{self.refusal}; retry in {int(wait) + 1} s",
                headers={"Retry-After": str(int(wait) + 1)})

    def failed(self, client: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        if len(self._counts) >= 10_000:  # bounded: drop finished windows, then everything
            self._counts = {c: v for c, v in self._counts.items() if v[0] + self.window > now}
            if len(self._counts) >= 10_000:
                self._counts.clear()
        started, count = self._counts.get(client, (now, 0))
        if started + self.window <= now:
            started, count = now, 0
        self._counts[client] = (started, count + 1)
        if count + 1 == self.limit:
            log.warning("%s: %d %s within a minute; refused until the window ends", client, self.limit, self.what)


class FrontendJwt:
    """The configured verifier: key, pinned algorithms, issuer, audience, the claim naming the user."""

    def __init__(self, *, key: Any, algorithms: tuple[str, ...], issuer: str, audience: str, user_claim: str = "sub",
                 max_lifetime: int = 86_400, leeway: int = 30, failures_per_minute: int = 30) -> None:
        self.key, self.algorithms, self.issuer, self.audience = key, algorithms, issuer, audience
        self.user_claim, self.max_lifetime, self.leeway = user_claim, max_lifetime, leeway
        self.attempts = FailedAttempts(failures_per_minute)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> FrontendJwt | None:
        """The verifier the AVM_FRONTEND_JWT_* variables describe; None when none is set (off).
        Raises FrontendJwtConfigError for anything it would not be safe to start with."""
        env = os.environ if env is None else env
        secret, public_key = _setting(env, "SECRET"), _setting(env, "PUBLIC_KEY")
        if secret is None and public_key is None:
            stray = sorted(k for k in env if k.startswith(PREFIX))
            if stray:
                raise FrontendJwtConfigError(f"{stray[0]} is set but neither {PREFIX}SECRET nor {PREFIX}PUBLIC_KEY"
                                             " is: set one to enable front-end JWTs, or unset it")
            return None
        if secret is not None and public_key is not None:
            raise FrontendJwtConfigError(f"set {PREFIX}SECRET or {PREFIX}PUBLIC_KEY (or their _FILE forms), not both")
        if secret is not None:
            size = len(secret.encode("utf-8"))
            if size < MIN_SECRET_BYTES:
                raise FrontendJwtConfigError(f"{PREFIX}SECRET must be at least {MIN_SECRET_BYTES} bytes, not {size}"
                                             " (e.g. `openssl rand -base64 48`)")
            key: Any = secret.encode("utf-8")
            algorithms: tuple[str, ...] = ("HS256",)
        else:
            key, algorithms = _public_key(public_key or "")
        issuer, audience = env.get(PREFIX + "ISSUER", "").strip(), env.get(PREFIX + "AUDIENCE", "").strip()
        for name, value in (("ISSUER", issuer), ("AUDIENCE", audience)):
            if not value:
                raise FrontendJwtConfigError(f"{PREFIX}{name} is required when front-end JWTs are enabled")
        user_claim = env.get(PREFIX + "USER_CLAIM", "sub").strip() or "sub"
        if user_claim not in ("sub", "email"):
            raise FrontendJwtConfigError(f"{PREFIX}USER_CLAIM must be sub or email, not {user_claim!r}")
        return cls(key=key, algorithms=algorithms, issuer=issuer, audience=audience, user_claim=user_claim,
                   max_lifetime=_int(env, "MAX_LIFETIME_SECONDS", 86_400, 1, 7 * 86_400),
                   leeway=_int(env, "LEEWAY_SECONDS", 30, 0, 300),
                   failures_per_minute=_int(env, "FAILURES_PER_MINUTE", 30, 0, 100_000))

    def verify(self, token: str) -> Claimed:
        """Whom a valid token names; Rejected(reason) for anything else."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Rejected("malformed", f"longer than {MAX_TOKEN_CHARS} characters")
        if token.count(".") == 4:
            raise Rejected("encrypted", "a JWE (NextAuth's default session cookie), not a signed JWT")
        try:
            claims = jwt.decode(token, self.key, algorithms=list(self.algorithms), issuer=self.issuer,
                                audience=self.audience, leeway=self.leeway,
                                options={"require": ["exp", "iat", "iss", "aud", self.user_claim]})
        except jwt.InvalidTokenError as exc:
            reason = next((r for kind, r in _REASONS if isinstance(exc, kind)), "malformed")
            raise Rejected(reason, str(exc)) from None
        exp, iat = claims["exp"], claims["iat"]  # PyJWT has checked both are integers
        if int(exp) - int(iat) > self.max_lifetime:
            raise Rejected("lifetime", f"exp - iat is {int(exp) - int(iat)} s, over {self.max_lifetime} s")
        if self.user_claim == "sub":
            try:
                return Claimed(user_id=UUID(claims["sub"]), email=None, expires_at=float(exp))
            except (TypeError, ValueError, AttributeError):
                raise Rejected("bad_subject", "sub is not a user id") from None
        email = claims["email"]
        if not isinstance(email, str) or not 3 <= len(email) <= MAX_EMAIL_CHARS:
            raise Rejected("bad_subject", "email is not an address")
        if claims.get("email_verified") is not True:
            raise Rejected("email_unverified", "email_verified is not true")
        return Claimed(user_id=None, email=email, expires_at=float(exp))


def _setting(env: Mapping[str, str], name: str) -> str | None:
    """AVM_FRONTEND_JWT_<name>, or the content of the file AVM_FRONTEND_JWT_<name>_FILE names."""
    value, path = env.get(PREFIX + name), env.get(PREFIX + name + "_FILE")
    if value and path:
        raise FrontendJwtConfigError(f"set {PREFIX}{name} or {PREFIX}{name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise FrontendJwtConfigError(f"{PREFIX}{name}_FILE: cannot read {path}: {exc.__class__.__name__}") from None
    return value or None


def _public_key(pem: str) -> tuple[Any, tuple[str, ...]]:
    """The PEM public key and the algorithms its type allows (never the token's choice)."""
    try:  # a PEM kept in one line of an env file: `\n` escapes
        key = serialization.load_pem_public_key(pem.replace("\\n", "\n").encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise FrontendJwtConfigError(f"{PREFIX}PUBLIC_KEY is not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise FrontendJwtConfigError(f"{PREFIX}PUBLIC_KEY: an RSA key must have at least {MIN_RSA_BITS} bits,"
                                         f" not {key.key_size}")
        return key, ("RS256", "PS256")
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise FrontendJwtConfigError(f"{PREFIX}PUBLIC_KEY: an EC key must be on P-256 (ES256), not {key.curve.name}")
        return key, ("ES256",)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key, ("EdDSA",)
    raise FrontendJwtConfigError(f"{PREFIX}PUBLIC_KEY: {type(key).__name__} keys are not supported"
                                 " (RSA, EC P-256 or Ed25519)")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return whole_number(env, PREFIX + name, default, low, high, FrontendJwtConfigError)
