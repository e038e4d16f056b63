"""The composition root: builds the application and wires what no lower layer may decide for itself.

Which read models run inline (and whose tracking positions a command advances), what a broken
database constraint means to the domain, and how a skipped item or an outage is recognised are
decided here, once, for the HTTP service and the command line alike (both build `api.services.Services`,
which builds its application with `build_application`).
"""
from __future__ import annotations

import os
from functools import partial
from typing import Any

from domain.application import AvmApplication
from domain.errors import CommandAlreadyApplied, ConcurrentChange, EmailTaken, IdentityTaken, SignInRefused
from eventstore.errors import ConstraintErrors
from eventstore.recorder import env_for, pool_env
from projections.inline import INLINE_PROJECTIONS, writes_for

# What each constraint of ours means when a save breaks it.
CONSTRAINT_ERRORS: ConstraintErrors = {
    # Another command appended this aggregate's next version first.
    "events_pkey": lambda: ConcurrentChange("another command saved this aggregate first"),
    "users_email_key": lambda: EmailTaken("a user with this email already exists", field="email"),
    # Sign-in (issue 13): an identity belongs to one user; an ID token opens one session.
    "identities_provider_subject_key": lambda: IdentityTaken(
        "this identity is linked to another account", field="id_token"),
    "sessions_id_token_hash_key": lambda: SignInRefused("this ID token was already used to sign in"),
    "idempotency_keys_pkey": lambda: CommandAlreadyApplied(
        "a command with this Idempotency-Key was already applied", field="Idempotency-Key"),
}


def build_application(url: str, *, pool_size: int) -> AvmApplication:
    """The application on the database at `url` (the service's login), wired."""
    app = AvmApplication(env=env_for(
        url,
        # No pre-ping (a round trip per checkout): a connection broken by an outage fails
        # its request with 503 and the pool replaces it.
        **pool_env(pool_size, overflow=0, pre_ping=os.environ.get("AVM_DB_PRE_PING", "n")),
    ))
    return wire(app)


def wire(app: AvmApplication) -> AvmApplication:
    """Give the application and its recorder the inline projections, the constraint meanings and
    the failure hooks."""
    from api.failures import count_conflict_retry, count_item_failure
    from api.problems import database_unavailable

    from api.idempotency import key_writes

    app.inline_writes = writes_for
    app.command_writes = key_writes  # its `recorded_result` is wired with the service's reads (wire_reads)
    recorder = app.recorder
    recorder.inline_projections = [p.name for p in INLINE_PROJECTIONS]  # type: ignore[attr-defined]
    recorder.constraint_errors = CONSTRAINT_ERRORS  # type: ignore[attr-defined]
    app.item_failed = count_item_failure
    app.conflict_retried = count_conflict_retry
    app.is_outage = database_unavailable
    return app


def wire_reads(services: Any) -> None:
    """What the application reads through the service's scoped reads: the result a keyed command's
    concurrent twin recorded (api/idempotency.py)."""
    from api.idempotency import recall

    services.app.recorded_result = partial(recall, services.read)


def wire_sealing(services: Any) -> None:
    """Personal fields sealed with the tenant's data key (issue 15): the keys, read and made in the
    service's `system` scope; the sealer on the events' and the snapshots' recorders; the opener on the
    application's transcoder (every reader: history, export, replay, rebuild)."""
    from domain.privacy import PERSONAL_FIELDS
    from eventstore.datakeys import DataKeys
    from eventstore.sealing import Sealer, register

    keys = DataKeys(partial(services.read, scope="system"))
    services.data_keys = keys
    app = services.app
    register(app.mapper.transcoder, keys)
    sealer = Sealer(keys, PERSONAL_FIELDS)
    app.recorder.sealer = sealer
    if app.snapshots is not None:
        app.snapshots.recorder.sealer = sealer
