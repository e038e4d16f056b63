"""Schemathesis hooks for the live run (tests/fuzz/test_schemathesis_live.py), loaded with SCHEMATHESIS_HOOKS.

They keep the run's identity usable, never the API's answers: the run may revoke any token it can name
(DELETE /api/v1/me/tokens/{id} is fuzzed like every route) and may demote its own admin user (PUT
/api/v1/admin/users/{id}/role), so its token comes from a provider that issues a fresh one for the same user
straight through the application (no token of the run is needed for it) whenever the API answers 401, and a
demotion of that user is undone the same way. An Idempotency-Key is single-use per request (a key already used
for a different request is refused, 422, as documented), so each well-formed generated key is made unique.
"""
from __future__ import annotations

import os
import re
import uuid
from typing import Any

import schemathesis

KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_services: Any = None


def _app() -> Any:
    global _services
    from api.services import Services
    from eventstore.database import Database

    if _services is None:
        _services = Services(Database(url=os.environ["AVM_FUZZ_DATABASE_URL"], embedded=False), pool_size=1)
    return _services.app


def _context(command: str) -> Any:
    from domain.application import CommandContext

    return CommandContext.system(command, tenant_id=os.environ["AVM_FUZZ_TENANT"])


@schemathesis.auth(retry_on=[401])
class FreshToken:
    """The fuzzing user's bearer token, re-issued when the run has revoked it."""

    def get(self, case: Any, ctx: Any) -> str:
        _, _, token = _app().issue_token(_context("fuzz-auth"), name="fuzz")
        return str(token)

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and KEY_RE.match(value):
            case.headers[name] = f"{uuid.uuid4().hex}-{value[:80]}"


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    tenant = os.environ["AVM_FUZZ_TENANT"]
    if (case.operation.path == "/api/v1/admin/users/{user_id}/role" and 200 <= response.status_code < 300
            and str((case.path_parameters or {}).get("user_id")) == tenant):
        _app().change_role(_context("fuzz-restore-role"), tenant, "admin")


def _tolerate_unparsable_urls() -> None:
    """schemathesis 4.32.5 scans response bodies for same-origin URLs to infer links, and its run stops with an
    internal error on a string such as "https://[x" (urlsplit raises ValueError): a stored asset uri that the
    API rightly echoes. Such a string is simply not a link."""
    from schemathesis.engine import observations

    original = observations._same_origin_path

    def same_origin_path(value: str, origin: tuple[str, str]) -> str | None:
        try:
            return original(value, origin)
        except ValueError:
            return None

    observations._same_origin_path = same_origin_path


_tolerate_unparsable_urls()
