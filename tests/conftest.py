"""Shared fixtures: a real PostgreSQL (embedded by default), a migrated database, the app, fresh tenants."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import support


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name, url = support.fresh_database("avm_s")
    yield url
    support.drop_database(name)
    support.cleanup()


@pytest.fixture(scope="session")
def services(database_url: str) -> Iterator[Any]:
    from api.services import Services
    from eventstore.database import Database

    s = Services(Database(url=database_url, embedded=False), pool_size=8)
    yield s
    s.close()


@pytest.fixture(scope="session")
def client(services: Any) -> Iterator[Any]:
    from litestar.testing import TestClient

    from api.app import create_app

    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


@dataclass
class Tenant:
    id: str
    token: str
    email: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_tenant(services: Any) -> Any:
    """Registers a fresh user (a tenant) with a random email; returns its id and token."""
    from domain.application import CommandContext

    def make(role: str = "user") -> Tenant:
        email = f"t-{uuid.uuid4().hex[:12]}@example.com"
        user, token = services.app.register_user(CommandContext.system("tests"), email=email, name="Test", role=role)
        return Tenant(id=str(user.id), token=token, email=email, role=role)

    return make


@pytest.fixture
def tenant(make_tenant: Any) -> Tenant:
    return make_tenant()


@pytest.fixture
def other_tenant(make_tenant: Any) -> Tenant:
    return make_tenant()


@pytest.fixture
def admin(make_tenant: Any) -> Tenant:
    return make_tenant("admin")


# Folders whose every test needs PostgreSQL or a running service, and the fixtures that start one.
_SERVER_FOLDERS = ("integration", "http", "faults", "fuzz")
_SERVER_FIXTURES = frozenset({"database_url", "services", "client", "make_tenant", "tenant", "other_tenant",
                              "admin", "rig"})


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Mark `integration` every test that needs PostgreSQL or a server, so `-m "not integration"` is the
    fast loop: pure tests only, and no PostgreSQL started (the server starts on a fixture's first use)."""
    here = Path(__file__).resolve().parent
    folders = {here / name for name in _SERVER_FOLDERS}
    for item in items:
        in_folder = not folders.isdisjoint(Path(item.path).resolve().parents)
        uses_server = not _SERVER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        if (in_folder or uses_server) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)


def pytest_ignore_collect(collection_path: Path, config: Any) -> bool | None:
    """The fast loop does not even import the server folders' modules (a second off every run);
    any other mark expression collects them and lets the marker above deselect."""
    if " ".join(config.getoption("markexpr", "").split()) != "not integration":
        return None
    here = Path(__file__).resolve().parent
    return True if collection_path.resolve() in {here / name for name in _SERVER_FOLDERS} else None


def pytest_configure(config: Any) -> None:
    import os

    # The HTTP tests hammer the API with one token: no limiter (tests/http/test_limits.py tests it).
    os.environ.setdefault("AVM_RATE_LIMIT", "0")
    os.environ.setdefault("AVM_SIGNIN_RATE_LIMIT", "0")  # tests/http/test_signin.py tests it
    # One data master key (issue 15) for the test process and every `avm` it starts with a data dir of its
    # own: as in a deployment, the command line must share the service's secrets to read sealed fields.
    # tests/integration/test_erasure.py removes it to test the generated key file.
    os.environ.setdefault("AVM_DATA_MASTER_KEY", "test-data-master-key-" + "0" * 32)
