"""Token answers are cached per process, and a revocation made elsewhere still bites within one second."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api import services as api_services
from api.services import TOKEN_CACHE_SECONDS, Services
from domain.application import CommandContext
from eventstore.database import Database


@pytest.fixture
def other_process(database_url: str) -> Iterator[Services]:
    """A second set of services on the same database: another worker process, as far as caches go."""
    other = Services(Database(url=database_url, embedded=False), pool_size=2)
    yield other
    other.close()


def test_a_revocation_by_another_process_takes_effect_here_within_one_second(
        services: Any, other_process: Services, tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert TOKEN_CACHE_SECONDS <= 1.0  # the promise: revocation effective within one second
    ctx = CommandContext(tenant_id=tenant.id, actor_id=tenant.id)
    _, token_id, token = other_process.app.issue_token(ctx, name="shared")
    principal = services.authenticate(token)
    assert principal is not None and str(principal.token_id) == token_id
    lookups: list[bytes] = []
    real_lookup = api_services.principal_for_token

    def counted(conn: Any, digest: bytes) -> Any:
        lookups.append(digest)
        return real_lookup(conn, digest)

    monkeypatch.setattr(api_services, "principal_for_token", counted)
    assert services.authenticate(token) == principal  # answered from this process's cache,
    assert lookups == []  # without a query

    other_process.app.revoke_token(ctx, token_id)
    revoked_at = time.monotonic()
    while services.authenticate(token) is not None:
        assert time.monotonic() - revoked_at < TOKEN_CACHE_SECONDS + 0.5, "revoked token still accepted"
        time.sleep(0.02)
    assert lookups  # the database was asked again once the cached answer expired
    assert other_process.authenticate(token) is None


def test_a_revocation_in_this_process_takes_effect_at_once(services: Any, tenant: Any) -> None:
    ctx = CommandContext(tenant_id=tenant.id, actor_id=tenant.id)
    _, token_id, token = services.app.issue_token(ctx, name="local")
    assert services.authenticate(token) is not None
    services.app.revoke_token(ctx, token_id)
    services.forget_tokens()  # what the HTTP handler does after revoking
    assert services.authenticate(token) is None

