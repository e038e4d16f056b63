"""Bring-your-own model API keys (issue 13 item 5): sealing a key for the command that records it, the
`model_keys` table (its one reader and writer), and the clear keys a render worker gets for a job.

The key itself never reaches the domain or the log: the command records the provider, the last four
characters and a keyed fingerprint (User.ModelKeySet), and brings the sealed key along as a write of
the same transaction. See docs/security.md ("Model API keys") and docs/decisions/i13-modelkeys.md.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from litestar.exceptions import ServiceUnavailableException

from domain.context import CommandContext
from domain.errors import Conflict, NotFound
from domain.users import MODEL_KEY_ROLES, User, check_provider
from eventstore.keyring import Keyring, KeyringProblem, Sealed, Unsealable

log = logging.getLogger("avm.model_keys")

_UPSERT = ("INSERT INTO model_keys (tenant_id, provider, key_id, nonce, ciphertext, last4, fingerprint, set_at)"
           " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, provider) DO UPDATE SET"
           " key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext,"
           " last4 = EXCLUDED.last4, fingerprint = EXCLUDED.fingerprint, set_at = EXCLUDED.set_at")
_DELETE = "DELETE FROM model_keys WHERE tenant_id = %s AND provider = %s"
_LIST = ("SELECT provider, last4, fingerprint, set_at FROM model_keys WHERE tenant_id = %s"
         " ORDER BY provider")


def keyring(services: Any) -> Keyring:
    """The service's keyring; a missing secret while keys are stored answers 503 (and is logged), never a 500."""
    try:
        return services.model_keyring()  # type: ignore[no-any-return]
    except KeyringProblem as exc:
        log.error("model keys unavailable: %s", exc)
        raise ServiceUnavailableException(detail="model keys are unavailable: the service key is missing"
                                                 " or misconfigured (see the service log)") from None


def stored_count(conn: Any) -> int:
    """How many keys are sealed, across tenants (`conn` in the system scope)."""
    return int(conn.execute("SELECT count(*) AS n FROM model_keys").fetchone()["n"])


def set_model_key(services: Any, ctx: CommandContext, provider: str, key: str) -> tuple[User, bool]:
    """Seal `key` and record it for the caller (True: it had none for `provider`)."""
    check_provider(provider)
    ring = keyring(services)
    tenant = ctx.tenant_id
    sealed = ring.seal(key, tenant_id=tenant, provider=provider)
    last4, fingerprint = key[-4:], ring.fingerprint(key, tenant_id=tenant, provider=provider)
    now = datetime.now(timezone.utc)
    row = (UUID(tenant), provider, sealed.key_id, sealed.nonce, sealed.ciphertext, last4, fingerprint, now)
    store = [lambda curs: curs.execute(_UPSERT, row, prepare=True)]
    return services.app.set_model_key(  # type: ignore[no-any-return]
        ctx, provider, last4=last4, fingerprint=fingerprint, writes=store, now=now)


def remove_model_key(services: Any, ctx: CommandContext, provider: str) -> User:
    check_provider(provider)
    delete = [lambda curs: curs.execute(_DELETE, (UUID(ctx.tenant_id), provider), prepare=True)]
    return services.app.remove_model_key(ctx, provider, writes=delete)  # type: ignore[no-any-return]


def list_model_keys(conn: Any, tenant_id: UUID) -> list[dict[str, Any]]:
    return conn.execute(_LIST, (tenant_id,), prepare=True).fetchall()  # type: ignore[no-any-return]


def model_keys_for_job(services: Any, job_id: UUID | str, providers: Iterable[str] | None = None) -> dict[str, str]:
    """The clear keys (provider -> key) of the owner of a running job, for the render worker that holds it.
    Empty when the owner stores none or is no longer premium or admin. NotFound for an unknown job;
    Conflict for a job that is not running (keys go only to a job being rendered)."""
    wanted = None if providers is None else {check_provider(p) for p in providers}
    with services.read(scope="worker") as conn:
        job = conn.execute("SELECT tenant_id FROM jobs WHERE id = %s", (UUID(str(job_id)),)).fetchone()
    if job is None:
        raise NotFound("job not found")
    with services.read(job["tenant_id"]) as conn:
        return owners_keys_in(services, conn, job["tenant_id"], job_id, wanted)


# The job's status, and its owner's sealed keys when the owner may have keys: one statement.
_JOB_KEYS = ("SELECT j.status, k.provider, k.key_id, k.nonce, k.ciphertext FROM jobs j"
             " LEFT JOIN users u ON u.tenant_id = j.tenant_id AND u.id = j.tenant_id AND u.deleted_at IS NULL"
             " AND u.role = ANY(%s) LEFT JOIN model_keys k ON k.tenant_id = u.tenant_id"
             " WHERE j.tenant_id = %s AND j.id = %s")


def owners_keys_in(services: Any, conn: Any, tenant: UUID | str, job_id: UUID | str,
                   wanted: set[str] | None = None) -> dict[str, str]:
    """`model_keys_for_job` for a job of `tenant`, read on `conn` (a transaction in that tenant's
    scope, e.g. the manifest's own read): NotFound when the tenant has no such job, Conflict when
    it is not running, else the owner's keys (none when the owner is no longer premium or admin)."""
    tenant = UUID(str(tenant))
    rows = conn.execute(_JOB_KEYS, (list(MODEL_KEY_ROLES), tenant, UUID(str(job_id))), prepare=True).fetchall()
    if not rows:
        raise NotFound("job not found")
    if rows[0]["status"] != "running":
        raise Conflict(f"job is {rows[0]['status']}, not running: its owner's model keys go only to a running job")
    rows = [r for r in rows if r["provider"] is not None]
    ring = keyring(services) if rows else None
    keys = {}
    for row in rows:
        if wanted is not None and row["provider"] not in wanted:
            continue
        assert ring is not None
        sealed = Sealed(row["key_id"], bytes(row["nonce"]), bytes(row["ciphertext"]))
        try:
            keys[row["provider"]] = ring.open(sealed, tenant_id=str(tenant), provider=row["provider"])
        except Unsealable as exc:
            log.error("model key of tenant %s for %s does not open: %s", tenant, row["provider"], exc)
            raise
    return keys
