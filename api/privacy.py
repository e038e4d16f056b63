"""Erasure of a tenant's personal data (issue 15): `DELETE /me`, the admin route and `avm users erase`.

Erasing a tenant:
1. appends `{tenant_id, erased_at, by}` to the erasure ledger, a JSON-lines file outside the database
   (`AVM_ERASURE_LEDGER`, default <data dir>/erasure-ledger.jsonl), flushed to disk first: a database
   restored from a backup taken before the erasure is erased again from it (`reapply_erasures`);
2. makes this process read the tenant as erased, drops its aggregate caches and snapshots;
3. in one transaction: appends the non-personal `User.Erased` (the user is deleted: no token, no
   identity, no email, name or image), ends its open sessions (`Session.Ended`, reason `erased`),
   rewrites every read-model row of the tenant from its aggregates as they now load (sealed fields
   redacted, exactly as a rebuild folds them) and destroys the tenant's wrapped data key.
Other processes stop decrypting the tenant within AVM_DATA_KEY_CACHE_SECONDS and stop accepting its
tokens within AVM_TOKEN_CACHE_SECONDS. See docs/security.md ("Personal data and erasure").
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from api.idempotency import forget_tenant as forget_idempotency
from domain.context import CommandContext
from domain.errors import NotFound
from domain.users import User
from eventstore.database import data_dir
from eventstore.datakeys import destroy_key_sql

log = logging.getLogger("avm.privacy")
LEDGER_ENV = "AVM_ERASURE_LEDGER"
_ledger_lock = threading.Lock()


def ledger_path() -> Path:
    explicit = os.environ.get(LEDGER_ENV, "").strip()
    return Path(explicit) if explicit else data_dir() / "erasure-ledger.jsonl"


def append_ledger(tenant_id: UUID, by: str, at: datetime, path: Path | None = None) -> None:
    """One line per erasure, written and fsynced before the erasure itself (no personal data)."""
    path = path or ledger_path()
    line = json.dumps({"tenant_id": str(tenant_id), "erased_at": at.isoformat(), "by": by}, sort_keys=True)
    with _ledger_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def read_ledger(path: Path | None = None) -> Iterator[dict[str, Any]]:
    """The ledger's entries, oldest first; a torn last line (a crash mid-write) is skipped."""
    path = path or ledger_path()
    if not path.exists():
        return
    with path.open("r", encoding="utf-8") as f:
        for n, raw in enumerate(f, start=1):
            try:
                entry = json.loads(raw)
                UUID(entry["tenant_id"])
            except (ValueError, KeyError, TypeError):
                log.warning("erasure ledger %s: line %d is not an entry (skipped)", path, n)
                continue
            yield entry


@dataclass(frozen=True)
class Erasure:
    tenant_id: UUID
    already: bool  # it was erased before: nothing was done


def is_erased(services: Any, tenant_id: UUID) -> bool:
    return bool(services.data_keys.is_erased(tenant_id))


def erase_tenant(services: Any, tenant_id: UUID, ctx: CommandContext, *, ledger: Path | None = None,
                 record: bool = True) -> Erasure:
    """Erase the tenant (a user) as `ctx`'s actor; idempotent. NotFound when no such user exists."""
    by = ctx.actor_id
    keys = services.data_keys
    if keys.is_erased(tenant_id):
        _forget_outside_the_log(services, tenant_id)
        return Erasure(tenant_id, already=True)
    services.app.load(User, tenant_id, None)  # NotFound for anything but an existing user
    now = datetime.now(timezone.utc)
    if record:
        append_ledger(tenant_id, by, now, ledger)
    ctx = ctx.for_tenant(str(tenant_id))
    keys.begin_erasure(tenant_id)
    done = False
    try:
        with services.read(tenant_id) as conn:
            ids = [r["originator_id"] for r in conn.execute(
                "SELECT DISTINCT originator_id FROM events WHERE tenant_id = %s", (tenant_id,))]
            conn.execute("SELECT avm_forget_snapshots(%s::uuid[])", (ids,))

        def destroy(curs: Any) -> None:
            curs.execute(destroy_key_sql(), (tenant_id, by))
            curs.execute("DELETE FROM model_keys WHERE tenant_id = %s", (tenant_id,))  # its own API keys

        services.app.erase_user(ctx, str(tenant_id), ids, writes=[destroy], now=now)
        done = True
    finally:
        keys.end_erasure(tenant_id, erased=done)
        services.app.forget_cached()
        services.forget_tokens()
    _forget_outside_the_log(services, tenant_id)
    log.info("tenant %s erased by %s", tenant_id, by)
    return Erasure(tenant_id, already=False)


def _forget_outside_the_log(services: Any, tenant_id: UUID) -> None:
    """After the erasure: snapshots taken meanwhile, the idempotency rows (unkeyed hashes of the tenant's
    requests) and the media bytes the service holds for its outputs; redone by a repeated erasure."""
    with services.read(tenant_id) as conn:  # snapshots another process took meanwhile, with the old key
        ids = [r["originator_id"] for r in conn.execute(
            "SELECT DISTINCT originator_id FROM events WHERE tenant_id = %s", (tenant_id,))]
        conn.execute("SELECT avm_forget_snapshots(%s::uuid[])", (ids,))
    with services.read(scope="system") as conn:
        forget_idempotency(conn, tenant_id)
        uris = [r["uri"] for r in conn.execute("SELECT uri FROM assets WHERE tenant_id = %s", (tenant_id,))]
    for uri in uris:
        if isinstance(uri, str):
            found = services.media.resolve(uri)  # only the bytes of the service's own stores, for this tenant
            if found is not None and found[1].split("/")[0] == str(tenant_id):
                services.media.delete_uri(uri)


def reapply_erasures(services: Any, ledger: Path | str | Iterable[Mapping[str, Any]] | None = None) -> list[str]:
    """Erase every tenant the ledger names that the database does not show as erased (after a restore
    of a backup taken before those erasures). `ledger`: its path (default: `ledger_path()`), or its entries
    as read already. Idempotent; returns the tenants erased now."""
    entries = read_ledger(Path(ledger) if isinstance(ledger, (str, Path)) else None) if ledger is None or \
        isinstance(ledger, (str, Path)) else ledger
    done: list[str] = []
    seen: set[UUID] = set()
    for entry in entries:
        tenant = UUID(entry["tenant_id"])
        if tenant in seen:
            continue
        seen.add(tenant)
        if services.data_keys.is_erased(tenant):
            continue
        try:
            erase_tenant(services, tenant, CommandContext.system("avm db restore"), record=False)
        except NotFound:
            # Not in this database (a backup older than the user): nothing of it is here to erase.
            continue
        done.append(str(tenant))
    return done
