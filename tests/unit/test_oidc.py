"""ID token verification (api/oidc.py) against a real provider on 127.0.0.1: real keys, real JWKS over HTTP."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from api.oidc import OidcConfigError, Providers, ProviderUnavailable, Rejected
from tests.oidc_idp import CLIENT_ID, IdP, b64


@pytest.fixture
def idp() -> Iterator[IdP]:
    provider = IdP()
    yield provider
    provider.close()


def provider_of(idp: IdP, **extra: str) -> Any:
    return Providers.from_environment(idp.env(**extra)).get("test")


def refused(provider: Any, token: str) -> Rejected:
    with pytest.raises(Rejected) as caught:
        provider.verify(token)
    return caught.value


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_valid_id_token_signed_with_an_rsa_or_ec_key_names_its_subject_and_verified_email(idp: IdP, alg: str) -> None:
    provider = provider_of(idp)
    token = idp.token("alice-1", alg=alg)
    verified = provider.verify(token)
    assert (verified.provider, verified.subject, verified.email, verified.name) == (
        "test", "alice-1", "alice-1@example.com", "Signed In")
    assert verified.token_hash == hashlib.sha256(token.encode()).digest()
    assert idp.fetches == {"discovery": 1, "jwks": 1}
    provider.verify(idp.token("bob", alg=alg))  # keys are cached
    assert idp.fetches == {"discovery": 1, "jwks": 1}


# Times are offsets from when the test runs (not from collection: a long run would make them valid).
@pytest.mark.parametrize("claims, reason", [
    ({"exp": -120, "iat": -300}, "expired"),
    ({"nbf": 600}, "not_yet_valid"),
    ({"aud": "someone-else"}, "audience"),
    ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "audience"),
    ({"iss": "https://evil.example"}, "issuer"),
    ({"email_verified": False}, "email_unverified"),
    ({"email_verified": "true"}, "email_unverified"),
    ({"iat": -3600}, "stale"),
])
def test_a_signed_token_with_a_bad_claim_is_refused_and_names_its_verified_subject(
        idp: IdP, claims: dict[str, Any], reason: str) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "iat", "nbf") else v for k, v in claims.items()}
    rejected = refused(provider_of(idp), idp.token("carol", **claims))
    assert rejected.reason == reason
    assert rejected.subject == "carol"  # the signature verified: the provider did issue it for carol


def test_alg_none_is_refused_without_fetching_keys(idp: IdP) -> None:
    token = f"{b64({'alg': 'none', 'kid': idp.kid()})}.{b64(idp.claims('mallory'))}."
    rejected = refused(provider_of(idp), token)
    assert (rejected.reason, rejected.subject) == ("algorithm", None)
    assert idp.fetches["jwks"] == 0


def test_an_hs256_token_keyed_with_the_providers_rsa_public_key_is_refused(idp: IdP) -> None:
    kid = idp.kid("RS256")
    public_pem = idp.keys[kid][0].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(idp.claims('mallory'))}"
    token = f"{signing_input}.{b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())}"
    assert refused(provider_of(idp), token).reason == "algorithm"
    # even a provider that (wrongly) listed HS256 could not be configured
    with pytest.raises(OidcConfigError, match="HS256"):
        provider_of(idp, AVM_OIDC_TEST_ALGORITHMS="RS256,HS256")


def test_an_rs256_header_on_an_ec_key_is_refused(idp: IdP) -> None:
    rsa_key = idp.keys[idp.kid("RS256")][0]
    token = jwt.encode(idp.claims("mallory"), rsa_key, algorithm="RS256", headers={"kid": idp.kid("ES256")})
    assert refused(provider_of(idp), token).reason in ("algorithm", "bad_signature")


def test_a_tampered_payload_is_refused_and_names_nobody(idp: IdP) -> None:
    header, _, signature = idp.token("dave").split(".")
    forged = f"{header}.{b64(idp.claims('dave', email='admin@example.com'))}.{signature}"
    rejected = refused(provider_of(idp), forged)
    assert (rejected.reason, rejected.subject) == ("bad_signature", None)


def test_an_unknown_kid_refetches_the_keys_once_then_a_rotated_key_verifies(idp: IdP) -> None:
    provider = provider_of(idp)
    provider.verify(idp.token("erin"))
    assert idp.fetches["jwks"] == 1
    new_kid = idp.rotate()
    assert provider.verify(idp.token("erin", kid=new_kid)).subject == "erin"  # one refetch found it
    assert idp.fetches["jwks"] == 2
    rejected = refused(provider, jwt.encode(idp.claims("erin"), idp.keys[new_kid][0], algorithm="RS256",
                                            headers={"kid": "never-published"}))
    assert rejected.reason == "unknown_kid" and idp.fetches["jwks"] == 3  # refetched once, not more


def test_unknown_kids_refetch_at_most_once_per_cooldown(idp: IdP) -> None:
    provider = provider_of(idp, AVM_OIDC_JWKS_REFRESH_COOLDOWN_SECONDS="60")
    provider.verify(idp.token("frank"))
    key = idp.keys[idp.kid()][0]
    for n in range(5):
        token = jwt.encode(idp.claims("frank"), key, algorithm="RS256", headers={"kid": f"random-{n}"})
        assert refused(provider, token).reason == "unknown_kid"
    assert idp.fetches["jwks"] == 1


def test_a_discovery_document_naming_another_issuer_or_an_unreachable_provider_is_unavailable(idp: IdP) -> None:
    env = idp.env()
    env["AVM_OIDC_TEST_ISSUER"] = idp.issuer + "/"  # not exactly the document's issuer
    with pytest.raises(ProviderUnavailable):
        Providers.from_environment(env).get("test").verify(idp.token("gina"))
    env = idp.env(AVM_OIDC_TEST_JWKS_URI="http://127.0.0.1:9/jwks")
    with pytest.raises(ProviderUnavailable):
        Providers.from_environment(env).get("test").verify(idp.token("gina"))


@pytest.mark.parametrize("env, message", [
    ({"AVM_OIDC_PROVIDERS": "google"}, "AVM_OIDC_GOOGLE_ISSUER and AVM_OIDC_GOOGLE_CLIENT_ID are required"),
    ({"AVM_OIDC_PROVIDERS": "Bad Name"}, "not a provider name"),
    ({"AVM_OIDC_PROVIDERS": "g", "AVM_OIDC_G_ISSUER": "http://idp.example", "AVM_OIDC_G_CLIENT_ID": "x"}, "https"),
    ({"AVM_OIDC_PROVIDERS": "g", "AVM_OIDC_G_ISSUER": "https://idp.example", "AVM_OIDC_G_CLIENT_ID": "x",
      "AVM_OIDC_G_ALGORITHMS": "none"}, "none"),
    ({"AVM_OIDC_LEEWAY_SECONDS": "999"}, "LEEWAY"),
])
def test_unsafe_settings_refuse_to_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(OidcConfigError, match=message):
        Providers.from_environment(env)


def test_without_settings_no_provider_is_configured() -> None:
    assert Providers.from_environment({}).by_name == {}
