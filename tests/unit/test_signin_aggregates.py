"""Specifications of sign-in in the domain: a user's linked identities and a Session's lifecycle."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import Conflict, NotFound, ValidationProblem
from domain.sessions import MAX_USER_AGENT_CHARS, Session, user_agent_of
from domain.users import MAX_IDENTITIES, User
from tests.unit.gwt import Recorded, given, history, then, then_nothing, then_raises, when

GOOGLE, GITHUB = "0b7e1b8a-0000-4000-8000-0000000000a1", "0b7e1b8a-0000-4000-8000-0000000000a2"
AT = "2026-12-06T18:00:00+00:00"


def link(identity_id: str, provider: str, subject: str) -> Callable[[User], Any]:
    return lambda u: u.link_identity(identity_id=identity_id, provider=provider, subject=subject,
                                     email=f"{subject}@example.com", linked_at=AT)


def user_with(*commands: Callable[[User], Any]) -> User:
    return given(*history(User.register(email="ada@example.com", name="Ada", role="user"), *commands))


def test_linking_records_the_identity_without_any_token() -> None:
    user = user_with()
    then(when(user, link(GOOGLE, "google", "123")),
         Recorded("IdentityLinked", identity_id=GOOGLE, provider="google", subject="123", email="123@example.com",
                  linked_at=AT))
    assert user.identity_of("google", "123") == GOOGLE


def test_linking_the_same_identity_twice_is_a_conflict() -> None:
    with then_raises(Conflict):
        when(user_with(link(GOOGLE, "google", "123")), link(GITHUB, "google", "123"))


def test_at_most_so_many_identities_are_linked() -> None:
    user = user_with(*(link(f"0b7e1b8a-0000-4000-8000-{n:012d}", "p", str(n)) for n in range(MAX_IDENTITIES)))
    with then_raises(Conflict):
        when(user, link(GOOGLE, "google", "one-too-many"))


def test_unlinking_is_recorded_but_the_last_identity_stays() -> None:
    user = user_with(link(GOOGLE, "google", "123"), link(GITHUB, "github", "9"))
    then(when(user, lambda u: u.unlink_identity(GOOGLE)), Recorded("IdentityUnlinked", identity_id=GOOGLE))
    with then_raises(Conflict):
        when(user, lambda u: u.unlink_identity(GITHUB))
    with then_raises(NotFound):
        when(user, lambda u: u.unlink_identity(GOOGLE))


def test_a_refused_sign_in_is_recorded_with_its_reason_only() -> None:
    then(when(user_with(), lambda u: u.record_sign_in_failure("google", "expired")),
         Recorded("SignInFailed", provider="google", reason="expired"))


def started() -> Session:
    return given(*history(Session(tenant_id="4f7d2c1e-0000-4000-8000-000000000001", token_hash="aa" * 32,
                                  provider="google", identity_id=GOOGLE, id_token_hash="bb" * 32, user_agent=None)))


def test_a_session_ends_once_with_its_reason() -> None:
    session = started()
    then(when(session, lambda s: s.end("logout")), Recorded("Ended", reason="logout"))
    then_nothing(when(session, lambda s: s.end("revoked")))
    assert session.ended_reason == "logout"


def test_a_session_ends_only_for_a_known_reason() -> None:
    with then_raises(ValidationProblem, field="reason"):
        when(started(), lambda s: s.end("because"))


@pytest.mark.parametrize("given_agent, kept", [
    (None, None), ("", None), ("  \x00\x1b[31m ", "[31m"), ("Firefox/133", "Firefox/133"),
    ("x" * 5000, "x" * MAX_USER_AGENT_CHARS),
])
def test_a_user_agent_is_kept_printable_and_bounded(given_agent: str | None, kept: str | None) -> None:
    assert user_agent_of(given_agent) == kept
