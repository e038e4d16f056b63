"""OpenID Connect ID tokens (issue 13 item 1): the configured providers, their keys, and the verification
of an ID token a provider issued to the web front end. Off unless AVM_OIDC_PROVIDERS names providers.

Each provider is configured, none is built in: AVM_OIDC_<NAME>_ISSUER, AVM_OIDC_<NAME>_CLIENT_ID (one
or more audiences, comma-separated), AVM_OIDC_<NAME>_ALGORITHMS (default RS256; asymmetric only) and,
optionally, AVM_OIDC_<NAME>_JWKS_URI (else read from the issuer's discovery document). PyJWT verifies
the signature and the registered claims; its PyJWKClient fetches and caches the provider's JWKS and
refetches it once on an unknown `kid` (at most once per cooldown). The algorithms come from the
configuration, never from the token. See docs/security.md ("Sign-in") and docs/decisions/i13-signin.md.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jwt
from prometheus_client import Counter

from api.envvars import whole_number

log = logging.getLogger("avm.oidc")

PREFIX = "AVM_OIDC_"
MAX_TOKEN_CHARS = 8192
MAX_DOCUMENT_BYTES = 512 * 1024
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
SUBJECT_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # OIDC Core §2: at most 255 ASCII characters
KID_RE = re.compile(r"^[\x21-\x7e]{1,256}$")

REJECTED = Counter("avm_oidc_rejected", "ID tokens refused at sign-in or linking, by provider and reason",
                   ["provider", "reason"])

# PyJWT's refusals, most specific first; `verified`: the signature checked out (the claims did not).
_REASONS: tuple[tuple[type[Exception], str, bool], ...] = (
    (jwt.InvalidAlgorithmError, "algorithm", False),
    (jwt.InvalidSignatureError, "bad_signature", False),
    (jwt.ExpiredSignatureError, "expired", True),
    (jwt.ImmatureSignatureError, "not_yet_valid", True),
    (jwt.InvalidIssuerError, "issuer", True),
    (jwt.InvalidAudienceError, "audience", True),
    (jwt.MissingRequiredClaimError, "missing_claim", True),
)


class OidcConfigError(ValueError):
    """An AVM_OIDC_* setting the service refuses to start with (one line, naming the variable)."""


class Rejected(Exception):
    """An ID token that does not sign anyone in. `reason` labels the counter and the audit event;
    `subject` is set only when the provider's signature verified (so the token truly names it)."""

    def __init__(self, reason: str, detail: str = "", subject: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.subject = reason, subject


class ProviderUnavailable(Exception):
    """Raised when the provider's discovery document or keys cannot be fetched (answered 503)."""


@dataclass(frozen=True)
class Verified:
    """What a verified ID token says: who (provider, subject), their verified email and name, and the
    token's SHA-256 (a sign-in spends it once)."""

    provider: str
    subject: str
    email: str
    name: str | None
    token_hash: bytes


@dataclass(frozen=True)
class Settings:
    """What every provider shares: clock leeway, how fresh a token must be, key caching, timeouts."""

    leeway: int = 30
    max_age: int = 600
    jwks_lifespan: int = 300
    refresh_cooldown: float = 30.0
    timeout: float = 5.0


def _fetch_json(url: str, timeout: float) -> Any:
    """A JSON document over http(s), without redirects, at most MAX_DOCUMENT_BYTES."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect()).open(url, timeout=timeout) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError("document too large")
        return json.loads(body)
    except (OSError, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc.__class__.__name__}") from None


def _check_url(url: str, variable: str) -> str:
    """https, or http to a loopback address (a provider run beside the service, or in tests)."""
    parsed = urlparse(url)
    loopback = False
    try:
        loopback = parsed.hostname == "localhost" or ipaddress.ip_address(parsed.hostname or "").is_loopback
    except ValueError:
        pass
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        raise OidcConfigError(f"{variable} must be an https URL (http only to a loopback address), not {url!r}")
    return url


class Provider:
    """One configured OpenID provider: its issuer, client ids (audiences), pinned algorithms and keys."""

    def __init__(self, name: str, *, issuer: str, client_ids: tuple[str, ...], algorithms: tuple[str, ...],
                 jwks_uri: str | None = None, settings: Settings | None = None) -> None:
        self.name, self.issuer, self.client_ids, self.algorithms = name, issuer, client_ids, algorithms
        self.settings = settings or Settings()
        self._jwks_uri = jwks_uri
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def jwks(self) -> jwt.PyJWKClient:
        """The provider's key client, made on first use (the discovery document read then, not at start)."""
        with self._lock:
            if self._client is None:
                uri = self._jwks_uri or self._discover()
                self._client = jwt.PyJWKClient(uri, cache_jwk_set=True, lifespan=self.settings.jwks_lifespan,
                                               timeout=self.settings.timeout,
                                               cooldown_duration=self.settings.refresh_cooldown)
            return self._client

    def _discover(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = _fetch_json(url, self.settings.timeout)
        # OIDC Discovery §4.3: the document's issuer is exactly the configured one.
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise ProviderUnavailable(f"{url}: its issuer is not {self.issuer}")
        uri = document.get("jwks_uri")
        try:
            return _check_url(str(uri), "jwks_uri")
        except OidcConfigError:
            raise ProviderUnavailable(f"{url}: jwks_uri {uri!r} is not an https URL") from None

    def verify(self, id_token: str) -> Verified:
        """The identity a valid ID token of this provider names; Rejected(reason) for anything else,
        ProviderUnavailable when the keys cannot be fetched."""
        if len(id_token) > MAX_TOKEN_CHARS or id_token.count(".") != 2:
            raise Rejected("malformed", "not a signed JWT (JWS compact form)")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise Rejected("malformed", "unreadable header") from None
        if header.get("alg") not in self.algorithms:
            raise Rejected("algorithm", f"alg {str(header.get('alg'))[:20]!r} is not one of {self.algorithms}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not KID_RE.match(kid):
            raise Rejected("no_kid", "the header names no key (kid)")
        try:
            key = self.jwks().get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise ProviderUnavailable(str(exc)) from None
        except jwt.PyJWKClientError:
            raise Rejected("unknown_kid", "no key of the provider has this kid") from None
        except jwt.PyJWTError as exc:  # an unusable key set
            raise ProviderUnavailable(f"keys: {exc.__class__.__name__}") from None
        options: dict[str, Any] = {"require": ["iss", "sub", "aud", "exp", "iat"]}
        try:
            claims = jwt.decode(id_token, key, algorithms=list(self.algorithms), audience=list(self.client_ids),
                                issuer=self.issuer, leeway=self.settings.leeway, options=options)
        except jwt.PyJWTError as exc:
            reason, verified = next(((r, v) for kind, r, v in _REASONS if isinstance(exc, kind)), ("malformed", False))
            raise Rejected(reason, str(exc), self._subject_of(id_token, key) if verified else None) from None
        return self._identity(claims, id_token)

    def _subject_of(self, id_token: str, key: Any) -> str | None:
        """The subject of a token whose signature verified but whose claims did not (for the audit trail)."""
        try:
            claims = jwt.decode(id_token, key, algorithms=list(self.algorithms),
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "verify_iss": False})
        except jwt.PyJWTError:
            return None
        sub = claims.get("sub")
        return sub if isinstance(sub, str) and SUBJECT_RE.match(sub) else None

    def _identity(self, claims: dict[str, Any], id_token: str) -> Verified:
        sub = claims["sub"]
        if not isinstance(sub, str) or not SUBJECT_RE.match(sub):
            raise Rejected("bad_subject", "sub is not 1-255 printable ASCII characters")
        if time.time() - int(claims["iat"]) > self.settings.max_age + self.settings.leeway:
            raise Rejected("stale", f"issued more than {self.settings.max_age} s ago", sub)
        aud = claims["aud"]
        # OIDC Core §3.1.3.7: with several audiences, azp names this client.
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") not in self.client_ids:
            raise Rejected("audience", "several audiences and azp is not this client", sub)
        email = claims.get("email")
        if not isinstance(email, str) or not 3 <= len(email) <= 254 or "@" not in email:
            raise Rejected("no_email", "the token carries no email address", sub)
        if claims.get("email_verified") is not True:
            raise Rejected("email_unverified", "email_verified is not true", sub)
        name = claims.get("name")
        name = name.strip()[:100] or None if isinstance(name, str) else None
        return Verified(provider=self.name, subject=sub, email=email, name=name,
                        token_hash=hashlib.sha256(id_token.encode("ascii", "replace")).digest())


class Providers:
    """The configured providers by name (empty: sign-in is off), and the per-identity attempt limit."""

    def __init__(self, providers: Mapping[str, Provider], *, attempts_per_minute: int = 10) -> None:
        from api.frontend_jwt import FailedAttempts

        self.by_name = dict(providers)
        # Verified sign-in attempts per identity (provider, subject): a stolen or leaked token is not a
        # session factory. Keyed only after the signature checks out, so nobody can lock out another.
        self.attempts = FailedAttempts(attempts_per_minute, what="sign-in attempts of one identity",
                                       refusal="too many sign-in attempts for this identity",
                                       blocked=lambda: REJECTED.labels(provider="any", reason="rate_limited").inc())

    def get(self, name: str) -> Provider | None:
        return self.by_name.get(name)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Providers:
        """The providers AVM_OIDC_PROVIDERS names, each from its AVM_OIDC_<NAME>_* variables.
        Raises OidcConfigError for anything it would not be safe to start with."""
        env = os.environ if env is None else env
        names = [n.strip() for n in env.get(PREFIX + "PROVIDERS", "").split(",") if n.strip()]
        settings = Settings(leeway=_int(env, "LEEWAY_SECONDS", 30, 0, 300),
                            max_age=_int(env, "MAX_TOKEN_AGE_SECONDS", 600, 10, 86_400),
                            jwks_lifespan=_int(env, "JWKS_CACHE_SECONDS", 300, 1, 86_400),
                            refresh_cooldown=_int(env, "JWKS_REFRESH_COOLDOWN_SECONDS", 30, 0, 3600),
                            timeout=_int(env, "HTTP_TIMEOUT_SECONDS", 5, 1, 60))
        providers = {}
        for name in names:
            if not NAME_RE.match(name) or name in providers:
                raise OidcConfigError(f"{PREFIX}PROVIDERS: {name!r} is not a provider name (a-z, 0-9, -; unique)")
            var = PREFIX + name.upper().replace("-", "_") + "_"
            issuer, client = env.get(var + "ISSUER", "").strip(), env.get(var + "CLIENT_ID", "").strip()
            if not issuer or not client:
                raise OidcConfigError(f"{var}ISSUER and {var}CLIENT_ID are required for provider {name}")
            algorithms = tuple(a.strip() for a in env.get(var + "ALGORITHMS", "RS256").split(",") if a.strip())
            wrong = [a for a in algorithms if a not in ASYMMETRIC]
            if wrong or not algorithms:
                raise OidcConfigError(f"{var}ALGORITHMS: {', '.join(wrong) or 'none given'} not allowed"
                                      f" (one or more of {', '.join(ASYMMETRIC)})")
            jwks_uri = env.get(var + "JWKS_URI", "").strip() or None
            providers[name] = Provider(
                name, issuer=_check_url(issuer, var + "ISSUER"),
                client_ids=tuple(c.strip() for c in client.split(",") if c.strip()), algorithms=algorithms,
                jwks_uri=_check_url(jwks_uri, var + "JWKS_URI") if jwks_uri else None, settings=settings)
        return cls(providers, attempts_per_minute=_int(env, "SIGNINS_PER_MINUTE", 10, 0, 100_000))


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return whole_number(env, PREFIX + name, default, low, high, OidcConfigError)
