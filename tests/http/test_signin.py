"""Sign-in (issue 13 items 1-3, 6, 7): OIDC sign-in, sessions and linked identities, against a real
provider serving its discovery document and JWKS on 127.0.0.1, with real RSA and EC keys."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.http.helpers import assert_problem
from tests.oidc_idp import IdP, b64

SIGN_IN, LOGOUT = "/api/v1/auth/oidc", "/api/v1/auth/logout"
SESSIONS, IDENTITIES = "/api/v1/me/sessions", "/api/v1/me/identities"


@contextmanager
def serving(database_url: str, env: dict[str, str]) -> Iterator[Any]:
    """A client of an app built with these settings (as `avm serve` would start with them)."""
    from litestar.testing import TestClient

    from api.app import create_app
    from api.services import Services
    from eventstore.database import Database

    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        services = Services(Database(url=database_url, embedded=False), pool_size=2)
        app = create_app(services, close_services=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    provider = IdP()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def other_idp() -> Iterator[IdP]:
    provider = IdP()
    yield provider
    provider.close()


def settings(idp: IdP, other: IdP | None = None, **extra: str) -> dict[str, str]:
    env = idp.env("test", **{"AVM_OIDC_SIGNINS_PER_MINUTE": "0", **extra})
    if other is not None:
        env.update({k: v for k, v in other.env("other").items() if k.startswith("AVM_OIDC_OTHER_")})
        env["AVM_OIDC_PROVIDERS"] = "test,other"
    return env


@pytest.fixture(scope="module")
def client(database_url: str, idp: IdP, other_idp: IdP) -> Iterator[Any]:
    with serving(database_url, settings(idp, other_idp)) as c:
        yield c


def sign_in(client: Any, token: str, provider: str = "test", **headers: str) -> Any:
    return client.post(SIGN_IN, json={"provider": provider, "id_token": token}, headers=headers)


def signed_in(client: Any, token: str, provider: str = "test") -> dict[str, Any]:
    r = sign_in(client, token, provider, **{"User-Agent": "Firefox/133 on Linux"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events_of(client: Any, tenant_id: str) -> list[dict[str, Any]]:
    services = client.app.state.services
    with services.read(scope="system") as conn:
        return conn.execute("SELECT topic, actor_id, correlation_id, convert_from(state, 'UTF8') AS state"
                            " FROM events WHERE tenant_id = %s ORDER BY tenant_seq", (tenant_id,)).fetchall()


def topics(client: Any, tenant_id: str) -> list[str]:
    return [e["topic"].rsplit(":", 1)[1] for e in events_of(client, tenant_id)]


# -- item 1: sign-in ---------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_the_first_sign_in_registers_the_user_links_the_identity_and_opens_a_session(
        client: Any, idp: IdP, alg: str) -> None:
    id_token = idp.token(alg=alg)
    r = sign_in(client, id_token, **{"User-Agent": "Firefox/133 on Linux", "X-Correlation-ID": "signin-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["registered"] is True and body["token"].startswith("avms_") and "." not in body["token"]
    assert body["session"]["user_agent"] == "Firefox/133 on Linux" and body["expires_at"] > body["session"]["created_at"]
    user_id = body["user"]["id"]
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.json()["id"] == user_id and me.json()["role"] == "user"
    events = events_of(client, user_id)
    assert [e["topic"].rsplit(":", 1)[1] for e in events] == ["User.Registered", "User.IdentityLinked",
                                                                "Session.Started"]
    assert {(e["actor_id"], e["correlation_id"]) for e in events} == {(user_id, "signin-1")}
    text = json.dumps(events)
    assert body["token"] not in text and id_token not in text and id_token.split(".")[2] not in text


def test_a_later_sign_in_finds_the_user_by_provider_and_subject(client: Any, idp: IdP) -> None:
    first = signed_in(client, idp.token("returning-1"))
    again = signed_in(client, idp.token("returning-1", email="changed@example.com", alg="ES256"))
    assert again["registered"] is False and again["user"]["id"] == first["user"]["id"]
    assert again["token"] != first["token"] and again["session"]["id"] != first["session"]["id"]


def test_an_unknown_provider_is_a_422_naming_the_field(client: Any, idp: IdP) -> None:
    r = sign_in(client, idp.token(), provider="nope")
    assert_problem(r, 422)
    assert r.json()["errors"][0]["field"] == "provider"


def _hs_confusion(idp: IdP) -> str:
    kid = idp.kid("RS256")
    pem = idp.keys[kid][0].public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64({'alg': 'HS256', 'kid': kid})}.{b64(idp.claims())}"
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def _tampered(idp: IdP) -> str:
    header, _, signature = idp.token().split(".")
    return f"{header}.{b64(idp.claims(email='admin@example.com'))}.{signature}"


BAD_TOKENS = {
    "expired": lambda idp: idp.token(exp=int(time.time()) - 120, iat=int(time.time()) - 300),
    "not-yet-valid": lambda idp: idp.token(nbf=int(time.time()) + 600),
    "wrong-audience": lambda idp: idp.token(aud="another-app"),
    "wrong-issuer": lambda idp: idp.token(iss="https://evil.example"),
    "unverified-email": lambda idp: idp.token(email_verified=False),
    "alg-none": lambda idp: f"{b64({'alg': 'none', 'kid': idp.kid()})}.{b64(idp.claims())}.",
    "hs-rs-confusion": _hs_confusion,
    "tampered": _tampered,
    "unknown-kid": lambda idp: jwt.encode(idp.claims(), idp.keys[idp.kid()][0], algorithm="RS256",
                                          headers={"kid": "not-published"}),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_a_bad_id_token_is_one_401_and_registers_nobody(client: Any, idp: IdP, case: str) -> None:
    services = client.app.state.services
    with services.read(scope="system") as conn:
        before = conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"]
    r = sign_in(client, BAD_TOKENS[case](idp))
    assert_problem(r, 401)
    assert r.json()["detail"] == "the ID token is not valid"
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    with services.read(scope="system") as conn:
        assert conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"] == before


def test_an_unknown_kid_refetches_the_keys_so_a_rotated_key_signs_in(client: Any, idp: IdP) -> None:
    signed_in(client, idp.token())
    fetched = idp.fetches["jwks"]
    kid = idp.rotate()
    try:
        assert signed_in(client, idp.token(kid=kid))["registered"] is True
        assert idp.fetches["jwks"] == fetched + 1
    finally:
        idp.add_key(ec.generate_private_key(ec.SECP256R1()), "ES256")  # the later tests sign with EC too


def test_a_refused_token_of_a_linked_identity_goes_on_that_users_trail_without_the_token(
        client: Any, idp: IdP) -> None:
    user_id = signed_in(client, idp.token("audited-1"))["user"]["id"]
    for token in (idp.token("audited-1", exp=int(time.time()) - 120, iat=int(time.time()) - 300),
                  idp.token("audited-1", aud="another-app")):
        r = sign_in(client, token, **{"X-Correlation-ID": "failed-signin"})
        assert_problem(r, 401)
        assert token not in json.dumps(events_of(client, user_id))
    failed = [e for e in events_of(client, user_id) if e["topic"].endswith("User.SignInFailed")]
    assert [json.loads(e["state"])["reason"] for e in failed] == ["expired", "audience"]
    assert {(e["actor_id"], e["correlation_id"]) for e in failed} == {("anonymous", "failed-signin")}
    # a forged token naming the same subject proves nothing: nothing is recorded
    sign_in(client, _forged_for(idp, "audited-1"))
    assert len([t for t in topics(client, user_id) if t == "User.SignInFailed"]) == 2


def _forged_for(idp: IdP, sub: str) -> str:
    header, _, signature = idp.token().split(".")
    return f"{header}.{b64(idp.claims(sub))}.{signature}"


def test_an_id_token_signs_in_once_and_a_session_token_is_dead_after_logout(client: Any, idp: IdP) -> None:
    id_token = idp.token("replayer-1")
    session = signed_in(client, id_token)
    assert_problem(sign_in(client, id_token), 401)  # the same ID token again
    assert client.post(LOGOUT, headers=bearer(session["token"])).status_code == 204
    r = client.get("/api/v1/me", headers=bearer(session["token"]))
    assert_problem(r, 401)
    assert_problem(sign_in(client, id_token), 401)  # nor after logout
    user = session["user"]["id"]
    assert topics(client, user)[-1] == "Session.Ended"
    assert json.loads(events_of(client, user)[-1]["state"])["reason"] == "logout"


def test_logout_with_an_api_token_is_a_409(client: Any, tenant: Any) -> None:
    assert_problem(client.post(LOGOUT, headers=tenant.headers), 409)


def test_an_email_registered_already_is_a_409_not_a_takeover(client: Any, idp: IdP, tenant: Any) -> None:
    r = sign_in(client, idp.token(email=tenant.email))
    assert_problem(r, 409)
    assert tenant.id not in r.text


# -- item 2: sessions ---------------------------------------------------------------------------------
def test_sessions_are_listed_revoked_one_by_one_and_all_but_the_current(client: Any, idp: IdP) -> None:
    sub = f"multi-{uuid.uuid4().hex[:8]}"
    one, two, three = (signed_in(client, idp.token(sub)) for _ in range(3))
    listed = client.get(SESSIONS, headers=bearer(one["token"])).json()["items"]
    assert [s["id"] for s in listed] == [three["session"]["id"], two["session"]["id"], one["session"]["id"]]
    assert [s["current"] for s in listed] == [False, False, True]
    assert "token" not in json.dumps(listed)

    r = client.delete(f"{SESSIONS}/{two['session']['id']}", headers=bearer(one["token"]))
    assert r.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=bearer(two["token"])), 401)

    r = client.post(f"{SESSIONS}/revoke-others", headers=bearer(one["token"]))
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert_problem(client.get("/api/v1/me", headers=bearer(three["token"])), 401)
    assert client.get("/api/v1/me", headers=bearer(one["token"])).status_code == 200
    assert [s["id"] for s in client.get(SESSIONS, headers=bearer(one["token"])).json()["items"]] == [
        one["session"]["id"]]


def test_another_tenant_can_neither_see_nor_revoke_a_session(client: Any, idp: IdP, other_tenant: Any) -> None:
    victim = signed_in(client, idp.token())
    assert victim["session"]["id"] not in client.get(SESSIONS, headers=other_tenant.headers).text
    theirs = client.delete(f"{SESSIONS}/{victim['session']['id']}", headers=other_tenant.headers)
    missing = client.delete(f"{SESSIONS}/{uuid.uuid4()}", headers=other_tenant.headers)
    assert_problem(theirs, 404)
    assert theirs.json() == missing.json()
    client.post(f"{SESSIONS}/revoke-others", headers=other_tenant.headers)
    assert client.get("/api/v1/me", headers=bearer(victim["token"])).status_code == 200


def test_a_revocation_bites_in_another_process_on_its_next_request(
        client: Any, idp: IdP, database_url: str) -> None:
    from api.services import TOKEN_CACHE_SECONDS

    with serving(database_url, settings(idp)) as elsewhere:
        session = signed_in(client, idp.token())
        assert elsewhere.get("/api/v1/me", headers=bearer(session["token"])).status_code == 200
        assert client.post(LOGOUT, headers=bearer(session["token"])).status_code == 204
        time.sleep(TOKEN_CACHE_SECONDS + 0.1)
        assert_problem(elsewhere.get("/api/v1/me", headers=bearer(session["token"])), 401)


def _set_expiry(database_url: str, session_id: str, seconds: float) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO session_activity (tenant_id, session_id, expires_at)"
                     " SELECT tenant_id, id, now() + make_interval(secs => %s) FROM sessions WHERE id = %s"
                     " ON CONFLICT (tenant_id, session_id) DO UPDATE SET expires_at = EXCLUDED.expires_at",
                     (seconds, session_id))


def test_a_session_slides_forward_when_used_and_expires_when_idle(client: Any, idp: IdP, database_url: str) -> None:
    services = client.app.state.services
    used, idle = signed_in(client, idp.token()), signed_in(client, idp.token())
    _set_expiry(database_url, used["session"]["id"], 30)  # as if last used long ago
    services.forget_tokens()
    assert client.get("/api/v1/me", headers=bearer(used["token"])).status_code == 200
    listed = {s["id"]: s for s in client.get(SESSIONS, headers=bearer(used["token"])).json()["items"]}
    remaining = services.sessions.idle.total_seconds() - 120
    expires = datetime.fromisoformat(listed[used["session"]["id"]]["expires_at"])
    assert (expires - datetime.now(timezone.utc)).total_seconds() > remaining  # pushed a whole idle period on

    _set_expiry(database_url, idle["session"]["id"], -1)
    services.forget_tokens()
    assert_problem(client.get("/api/v1/me", headers=bearer(idle["token"])), 401)


# -- item 3: linked identities -------------------------------------------------------------------------
def test_identities_are_listed_linked_with_a_fresh_token_and_unlinked_but_never_the_last(
        client: Any, idp: IdP, other_idp: IdP) -> None:
    me = signed_in(client, idp.token())
    headers = bearer(me["token"])
    [first] = client.get(IDENTITIES, headers=headers).json()["items"]
    assert first["provider"] == "test"

    linked = client.post(IDENTITIES, headers=headers, json={"provider": "other", "id_token": other_idp.token("o-1")})
    assert linked.status_code == 201, linked.text
    assert {i["provider"] for i in client.get(IDENTITIES, headers=headers).json()["items"]} == {"test", "other"}
    # the other provider now signs in to the same user
    assert signed_in(client, other_idp.token("o-1"), "other")["user"]["id"] == me["user"]["id"]
    again = client.post(IDENTITIES, headers=headers, json={"provider": "other", "id_token": other_idp.token("o-1")})
    assert_problem(again, 409)

    assert client.delete(f"{IDENTITIES}/{first['id']}", headers=headers).status_code == 204
    last = client.delete(f"{IDENTITIES}/{linked.json()['id']}", headers=headers)
    assert_problem(last, 409)
    assert "last" in last.json()["detail"]
    user = me["user"]["id"]
    assert topics(client, user).count("User.IdentityLinked") == 2 and "User.IdentityUnlinked" in topics(client, user)


def test_linking_an_identity_of_another_user_is_a_409_that_names_nobody(client: Any, idp: IdP, other_idp: IdP) -> None:
    owner = signed_in(client, other_idp.token("taken-1"), "other")
    thief = signed_in(client, idp.token())
    r = client.post(IDENTITIES, headers=bearer(thief["token"]),
                    json={"provider": "other", "id_token": other_idp.token("taken-1")})
    assert_problem(r, 409)
    assert owner["user"]["id"] not in r.text and owner["user"]["email"] not in r.text
    assert r.json()["detail"] == "this identity is linked to another account"
    assert "User.IdentityLinked" not in topics(client, thief["user"]["id"])[2:]


def test_linking_refuses_a_bad_token_like_sign_in(client: Any, idp: IdP, other_idp: IdP) -> None:
    me = signed_in(client, idp.token())
    r = client.post(IDENTITIES, headers=bearer(me["token"]),
                    json={"provider": "other", "id_token": other_idp.token(aud="another-app")})
    assert_problem(r, 401)


# -- item 7: abuse ---------------------------------------------------------------------------------
def test_sign_ins_are_limited_per_identity(database_url: str, idp: IdP) -> None:
    with serving(database_url, settings(idp, AVM_OIDC_SIGNINS_PER_MINUTE="2")) as limited:
        sub = f"busy-{uuid.uuid4().hex[:8]}"
        assert [sign_in(limited, idp.token(sub)).status_code for _ in range(3)] == [200, 200, 429]
        assert sign_in(limited, idp.token()).status_code == 200  # another identity is not affected
        r = sign_in(limited, idp.token(sub))
        assert_problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1


def test_sign_ins_are_limited_per_client_address(database_url: str, idp: IdP) -> None:
    with serving(database_url, settings(idp, AVM_SIGNIN_RATE_LIMIT="2")) as limited:
        assert [sign_in(limited, idp.token()).status_code for _ in range(3)] == [200, 200, 429]
        assert_problem(sign_in(limited, idp.token()), 429)
