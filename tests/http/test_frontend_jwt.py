"""Front-end JWTs (issue 13 item 4): a JWT minted by the web front end as the bearer credential.

Real keys are generated here, real tokens signed with PyJWT (forgeries built by hand, as an
attacker would), and each app is built from the AVM_FRONTEND_JWT_* settings it would start with.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SECRET = "s3cret-of-the-front-end-0123456789abcdef"  # 40 bytes
ISSUER, AUDIENCE = "https://app.example", "avm-api"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
UNAUTHORIZED = {"type", "title", "status", "detail"}


def pem(private_key: Any) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def claims(sub: str | None = None, *, lifetime: int = 600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + lifetime}
    if sub is not None:
        base["sub"] = sub
    return {**base, **extra}


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256_by_hand(payload: dict[str, Any], key: bytes, header: dict[str, Any] | None = None) -> str:
    """An HS256 token signed with any key (PyJWT refuses a PEM as an HMAC secret; an attacker does not)."""
    signing_input = f"{b64(header or {'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


@contextmanager
def serving(database_url: str, **settings: str) -> Iterator[Any]:
    """A client of an app whose services were built with these AVM_FRONTEND_JWT_* settings."""
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings.items():
            mp.setenv(f"AVM_FRONTEND_JWT_{name}", value)
        services = Services(Database(url=database_url, embedded=False), pool_size=2)
    with TestClient(create_app(services, close_services=True), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def hs_client(database_url: str) -> Iterator[Any]:
    with serving(database_url, SECRET=SECRET, ISSUER=ISSUER, AUDIENCE=AUDIENCE, FAILURES_PER_MINUTE="0") as c:
        yield c


@pytest.fixture(scope="module")
def rs_client(database_url: str) -> Iterator[Any]:
    with serving(database_url, PUBLIC_KEY=pem(RSA_KEY), ISSUER=ISSUER, AUDIENCE=AUDIENCE,
                 FAILURES_PER_MINUTE="0") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client: Any, token: str) -> Any:
    return client.get("/api/v1/me", headers=bearer(token))


def assert_refused(response: Any) -> None:
    """The one 401 every invalid credential gets: nothing says which check failed."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == UNAUTHORIZED and body["detail"] == "invalid, expired or revoked token", body
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def rejected(client: Any, reason: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'avm_frontend_jwt_rejected_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_valid_hs256_token_authenticates_as_its_user_with_the_users_role(hs_client: Any, make_tenant: Any) -> None:
    premium = make_tenant("premium")
    answer = me(hs_client, jwt.encode(claims(premium.id, role="admin"), SECRET, algorithm="HS256"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == premium.id and answer.json()["role"] == "premium"  # never the token's role
    # it acts as that user: a project it creates is the user's, seen with the user's API token
    token = jwt.encode(claims(premium.id), SECRET, algorithm="HS256")
    created = hs_client.post("/api/v1/projects", headers=bearer(token), json={"title": "via the front end"})
    assert created.status_code == 201, created.text
    assert hs_client.get(f"/api/v1/projects/{created.json()['id']}", headers=premium.headers).status_code == 200
    # API tokens keep working beside it
    assert hs_client.get("/api/v1/me", headers=premium.headers).status_code == 200


def test_rs256_and_ps256_tokens_authenticate_with_an_rsa_public_key(rs_client: Any, tenant: Any) -> None:
    for algorithm in ("RS256", "PS256"):
        answer = me(rs_client, jwt.encode(claims(tenant.id), RSA_KEY, algorithm=algorithm))
        assert answer.status_code == 200 and answer.json()["id"] == tenant.id, (algorithm, answer.text)


def test_es256_and_eddsa_tokens_authenticate_with_their_public_keys(database_url: str, tenant: Any) -> None:
    for key, algorithm in ((EC_KEY, "ES256"), (ED_KEY, "EdDSA")):
        with serving(database_url, PUBLIC_KEY=pem(key).replace("\n", "\\n"),
                     ISSUER=ISSUER, AUDIENCE=AUDIENCE) as client:
            answer = me(client, jwt.encode(claims(tenant.id), key, algorithm=algorithm))
            assert answer.status_code == 200 and answer.json()["id"] == tenant.id, (algorithm, answer.text)
            other = EC_KEY if key is ED_KEY else ED_KEY
            assert_refused(me(client, jwt.encode(claims(tenant.id), other,
                                                  algorithm="EdDSA" if other is ED_KEY else "ES256")))


@pytest.mark.parametrize(("case", "reason"), [
    ("expired", "expired"), ("not yet valid", "not_yet_valid"), ("issued in the future", "not_yet_valid"),
    ("wrong issuer", "issuer"), ("wrong audience", "audience"), ("no exp", "missing_claim"),
    ("no iat", "missing_claim"), ("no sub", "missing_claim"), ("sub not a user id", "bad_subject"),
    ("lifetime over the maximum", "lifetime"), ("wrong secret", "bad_signature"), ("garbage", "malformed"),
    ("encrypted (a JWE)", "encrypted"),
])
def test_invalid_hs256_tokens_get_the_same_401_and_are_counted_by_reason(
        hs_client: Any, tenant: Any, case: str, reason: str) -> None:
    now = int(time.time())
    payload = {
        "expired": claims(tenant.id, iat=now - 700, exp=now - 100),
        "not yet valid": claims(tenant.id, nbf=now + 300),
        "issued in the future": claims(tenant.id, iat=now + 300, exp=now + 900),
        "wrong issuer": claims(tenant.id, iss="https://evil.example"),
        "wrong audience": claims(tenant.id, aud="another-api"),
        "no exp": {k: v for k, v in claims(tenant.id).items() if k != "exp"},
        "no iat": {k: v for k, v in claims(tenant.id).items() if k != "iat"},
        "no sub": claims(),
        "sub not a user id": claims("12345"),
        "lifetime over the maximum": claims(tenant.id, lifetime=86_400 + 1),
    }.get(case, claims(tenant.id))
    token = {"wrong secret": jwt.encode(payload, SECRET + "x", algorithm="HS256"),
             "garbage": "not.a.jwt", "encrypted (a JWE)": "eyJhbGciOiJkaXIifQ..iv.ciphertext.tag"}.get(case) or jwt.encode(payload, SECRET, algorithm="HS256")
    before = rejected(hs_client, reason)
    assert_refused(me(hs_client, token))
    assert rejected(hs_client, reason) == before + 1


def test_alg_none_and_a_tampered_payload_are_refused(hs_client: Any, tenant: Any, other_tenant: Any) -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(tenant.id))}."
    assert_refused(me(hs_client, unsigned))
    header, _, signature = jwt.encode(claims(tenant.id), SECRET, algorithm="HS256").split(".")
    assert_refused(me(hs_client, f"{header}.{b64(claims(other_tenant.id))}.{signature}"))


def test_hs_rs_confusion_and_an_unpinned_algorithm_are_refused(rs_client: Any, tenant: Any) -> None:
    before = rejected(rs_client, "algorithm")
    # the public key is public: an HS256 token "signed" with its PEM must not verify
    assert_refused(me(rs_client, hs256_by_hand(claims(tenant.id), pem(RSA_KEY).encode())))
    # the key is RSA, but only RS256/PS256 are pinned: RS384 (a valid signature) is refused
    assert_refused(me(rs_client, jwt.encode(claims(tenant.id), RSA_KEY, algorithm="RS384")))
    assert rejected(rs_client, "algorithm") == before + 2


def test_an_unknown_user_gets_the_same_401_as_a_bad_token(hs_client: Any) -> None:
    before = rejected(hs_client, "unknown_user")
    unknown = me(hs_client, jwt.encode(claims(str(uuid.uuid4())), SECRET, algorithm="HS256"))
    bad = me(hs_client, jwt.encode(claims(str(uuid.uuid4())), SECRET + "x", algorithm="HS256"))
    assert_refused(unknown)
    assert_refused(bad)
    assert unknown.json() == bad.json()
    assert rejected(hs_client, "unknown_user") == before + 1


def test_feature_off_a_jwt_gets_401_and_api_tokens_work(client: Any, tenant: Any) -> None:
    assert_refused(me(client, jwt.encode(claims(tenant.id), SECRET, algorithm="HS256")))
    assert client.get("/api/v1/me", headers=tenant.headers).status_code == 200


def test_by_email_only_a_verified_email_maps_to_its_user(database_url: str, tenant: Any) -> None:
    with serving(database_url, SECRET=SECRET, ISSUER=ISSUER, AUDIENCE=AUDIENCE, USER_CLAIM="email") as client:
        def token(**extra: Any) -> str:
            return jwt.encode(claims("provider-subject", **extra), SECRET, algorithm="HS256")

        answer = me(client, token(email=tenant.email.upper(), email_verified=True))
        assert answer.status_code == 200 and answer.json()["id"] == tenant.id, answer.text
        assert_refused(me(client, token(email=tenant.email, email_verified=False)))
        assert_refused(me(client, token(email=tenant.email)))  # no email_verified claim: not trusted
        assert_refused(me(client, token(email=tenant.email, email_verified="true")))
        assert_refused(me(client, token(email="nobody@example.com", email_verified=True)))
        # the sub is not used in this mode, even when it is a user's id
        assert_refused(me(client, jwt.encode(claims(tenant.id), SECRET, algorithm="HS256")))


def test_the_cache_never_serves_a_jwt_past_its_exp(database_url: str, tenant: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.services.TOKEN_CACHE_SECONDS", 60.0)  # a cache far longer than the token
    with serving(database_url, SECRET=SECRET, ISSUER=ISSUER, AUDIENCE=AUDIENCE, LEEWAY_SECONDS="0") as client:
        token = jwt.encode(claims(tenant.id, lifetime=2), SECRET, algorithm="HS256")
        assert me(client, token).status_code == 200
        assert me(client, token).status_code == 200  # served from the cache
        time.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()) + 0.2)
        assert_refused(me(client, token))


def test_rejected_jwts_are_limited_per_client_address(database_url: str, tenant: Any) -> None:
    with serving(database_url, SECRET=SECRET, ISSUER=ISSUER, AUDIENCE=AUDIENCE, FAILURES_PER_MINUTE="3") as client:
        bad = jwt.encode(claims(tenant.id), SECRET + "x", algorithm="HS256")
        for _ in range(3):
            assert_refused(me(client, bad))
        limited = me(client, bad)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1, limited.text
        assert limited.headers["content-type"].startswith("application/problem+json")
        # until the window ends, JWTs from there are not even verified; API tokens are not affected
        assert me(client, jwt.encode(claims(tenant.id), SECRET, algorithm="HS256")).status_code == 429
        assert client.get("/api/v1/me", headers=tenant.headers).status_code == 200
        assert rejected(client, "rate_limited") >= 2


def test_the_per_token_rate_limit_of_jwts_is_the_users(database_url: str, tenant: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVM_RATE_LIMIT", "3")
    with serving(database_url, SECRET=SECRET, ISSUER=ISSUER, AUDIENCE=AUDIENCE) as client:
        time.sleep(1.0 - time.time() % 1.0 + 0.01)  # the limiter's windows are wall-clock seconds
        codes = [me(client, jwt.encode(claims(tenant.id, jti=str(i)), SECRET, algorithm="HS256")).status_code
                 for i in range(5)]
        assert codes[:3] == [200] * 3 and 429 in codes[3:], codes  # a new token per request shares one bucket


@pytest.mark.parametrize(("settings", "message"), [
    ({"SECRET": "x" * 31, "ISSUER": ISSUER, "AUDIENCE": AUDIENCE}, "SECRET must be at least 32 bytes, not 31"),
    ({"SECRET": SECRET, "PUBLIC_KEY": pem(RSA_KEY), "ISSUER": ISSUER, "AUDIENCE": AUDIENCE}, "not both"),
    ({"SECRET": SECRET, "AUDIENCE": AUDIENCE}, "ISSUER is required"),
    ({"SECRET": SECRET, "ISSUER": ISSUER}, "AUDIENCE is required"),
    ({"ISSUER": ISSUER}, "neither"),
    ({"PUBLIC_KEY": "not a key", "ISSUER": ISSUER, "AUDIENCE": AUDIENCE}, "not a PEM public key"),
    ({"PUBLIC_KEY": pem(ec.generate_private_key(ec.SECP384R1())), "ISSUER": ISSUER, "AUDIENCE": AUDIENCE},
     "must be on P-256"),
    ({"SECRET": SECRET, "ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "USER_CLAIM": "name"}, "must be sub or email"),
    ({"SECRET": SECRET, "ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "MAX_LIFETIME_SECONDS": "1e3"}, "whole number"),
])
def test_unsafe_settings_refuse_to_start_with_one_line(database_url: str, settings: dict[str, str],
                                                       message: str) -> None:
    from api.frontend_jwt import FrontendJwtConfigError

    with pytest.raises(FrontendJwtConfigError, match=message) as refused, serving(database_url, **settings):
        pass
    assert "\n" not in str(refused.value)


def test_a_secret_file_is_read_and_the_openapi_scheme_mentions_jwts(database_url: str, tenant: Any,
                                                                     tmp_path: Any) -> None:
    (tmp_path / "secret").write_text(SECRET + "\n")
    with serving(database_url, SECRET_FILE=str(tmp_path / "secret"), ISSUER=ISSUER, AUDIENCE=AUDIENCE) as client:
        assert me(client, jwt.encode(claims(tenant.id), SECRET, algorithm="HS256")).status_code == 200
        scheme = client.get("/schema/openapi.json").json()["components"]["securitySchemes"]["bearer"]
        assert "JWT" in scheme["description"] and "AVM_FRONTEND_JWT" in scheme["description"]
