"""The API's plumbing is declared once (issue 12, item 6): handlers are given the command context,
the version If-Match names and the tenant of a read as Litestar dependencies, and the Idempotency-Key
lives in api/idempotency.py alone; checked on the app and on the source."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTROLLERS = {p.name: p.read_text() for p in (ROOT / "api" / "controllers").glob("*.py")}


def test_the_command_context_the_expected_version_and_the_tenant_are_dependencies_of_the_app() -> None:
    from api.app import create_app

    app = create_app(services=None, close_services=False)
    assert {"ctx", "expected_version", "tenant"} <= app.dependencies.keys()


def test_no_handler_builds_its_own_plumbing() -> None:
    repeated = re.compile(r"if_match\(request\)|read_tenant\(|@idempotent|\bctx = command_context")
    assert {name: repeated.findall(text) for name, text in CONTROLLERS.items() if repeated.search(text)} == {}


def test_every_command_handler_is_given_its_context() -> None:
    from api.app import create_app

    app = create_app(services=None, close_services=False)
    commands = [h for route in app.routes for h in getattr(route, "route_handlers", ())
                if h.http_methods & {"POST", "PUT", "PATCH", "DELETE"} and h.owner is not None
                and h.handler_name != "rebuild_projection"  # a blue/green rebuild, not a command of the application
                # sign-in has no caller yet: its context is the user its verified ID token names
                and not h.opt.get("exclude_from_auth")
                # the studio's forms run reads (verify, export), rebuilds and its cookie sign-in/out, no command of
                # the application; an admin's look is recorded with command_context (api/studio/admin.py)
                and not route.path.startswith("/studio/")]
    assert commands
    assert [h.handler_name for h in commands if "ctx" not in h.parsed_fn_signature.parameters] == []


def test_the_idempotency_table_is_written_and_read_by_one_module() -> None:
    sql = re.compile(r"(INTO|FROM|UPDATE)\s+idempotency_keys\b")
    sources = {str(p.relative_to(ROOT)): p.read_text() for package in ("api", "domain", "eventstore", "projections")
               for p in (ROOT / package).rglob("*.py")}
    assert sorted(m for m, text in sources.items() if sql.search(text)) == ["api/idempotency.py"]
