"""Per-tenant data keys (issue 15): one random AES-256-GCM key per tenant seals its personal fields.

Key hierarchy (docs/security.md, "Personal data and erasure"):

- the **master key** is a secret outside the database and the log: `AVM_DATA_MASTER_KEY`,
  `AVM_DATA_MASTER_KEY_FILE`, else generated once into <secrets dir>/data_master.secret (mode 600),
  the same handling as the model keys' service secret (eventstore/keyring.py: HKDF, rotation by
  listing several secrets, never regenerated while wrapped keys exist);
- each tenant's **data key** is 32 random bytes, stored only wrapped by the master key (AES-256-GCM,
  bound to the tenant) in `tenant_data_keys` (migration 0017), outside the append-only log: erasing a
  tenant overwrites its wrapped key with NULL, and nothing can open its sealed fields again.

Unwrapped keys are cached in memory for `AVM_DATA_KEY_CACHE_SECONDS` (default 1 s), then the row is
read again: an erasure made by another process stops this one from decrypting within that time.
An erased tenant is remembered for good (erasure is final).
"""
from __future__ import annotations

import base64
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventstore.keyring import Keyring, KeyringProblem, Sealed, configured_secret, load_keyring, secrets_dir

MASTER_ENV = "AVM_DATA_MASTER_KEY"
MASTER_FILE = "data_master.secret"
PURPOSE = "tenant-data-key"  # the associated data's second part: a wrapped data key opens as nothing else
log = logging.getLogger("avm.datakeys")

Connect = Callable[[], AbstractContextManager[Any]]


class TenantErased(Exception):
    """Raised when personal data would be sealed for a tenant whose data key was destroyed."""


def cache_seconds() -> float:
    raw = os.environ.get("AVM_DATA_KEY_CACHE_SECONDS", "").strip()
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        raise KeyringProblem(f"AVM_DATA_KEY_CACHE_SECONDS must be a number of seconds, not {raw!r}") from None
    if not 0 <= value <= 3600:
        raise KeyringProblem("AVM_DATA_KEY_CACHE_SECONDS must be between 0 and 3600")
    return value


def load_master(connect: Connect) -> Keyring:
    """The master keyring: configured, else the secret file, generated only while no key is wrapped."""
    def wrapped_keys() -> int:
        with connect() as conn:
            return int(conn.execute("SELECT count(*) AS n FROM tenant_data_keys WHERE wrapped IS NOT NULL")
                       .fetchone()["n"])

    return load_keyring(configured_secret(name=MASTER_ENV), in_use=wrapped_keys,
                        path=secrets_dir() / MASTER_FILE, name=MASTER_ENV, what="tenant data key(s)")


class DataKeys:
    """The tenants' data keys: made on first use, unwrapped on demand, cached briefly, destroyed by erasure.

    `connect()` opens a transaction in which `tenant_data_keys` is readable and writable for any tenant
    (the service's `system` scope)."""

    def __init__(self, connect: Connect, master: Callable[[], Keyring] | None = None,
                 ttl: float | None = None) -> None:
        self._connect = connect
        self._master_loader = master or (lambda: load_master(connect))
        self._master: Keyring | None = None
        self.ttl = cache_seconds() if ttl is None else ttl
        self._lock = threading.Lock()
        self._cache: dict[UUID, tuple[AESGCM, float]] = {}
        self._erased: set[UUID] = set()  # for good
        self._erasing: set[UUID] = set()  # this process is erasing them: read as erased meanwhile

    def master(self) -> Keyring:
        with self._lock:
            if self._master is None:
                self._master = self._master_loader()
            return self._master

    # -- reading and writing ----------------------------------------------------------------------
    def for_reading(self, tenant: UUID) -> AESGCM | None:
        """The tenant's key, or None when it has none any more (erased) or never had one."""
        if tenant in self._erased or tenant in self._erasing:
            return None
        cached = self._cache.get(tenant)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return self._load(tenant, create=False)

    def known(self, tenant: UUID) -> bool:
        """Whether `for_reading(tenant)` answers now without the database (cached, erased or being erased):
        an event-loop reader opens sealed fields itself only then, else in a thread (api/controllers/audit.py)."""
        if tenant in self._erased or tenant in self._erasing:
            return True
        cached = self._cache.get(tenant)
        return cached is not None and cached[1] > time.monotonic()

    def for_writing(self, tenant: UUID) -> AESGCM:
        """The tenant's key, made (and stored, wrapped) on first use; TenantErased once it is destroyed."""
        key = self.for_reading(tenant)
        if key is not None:
            return key
        if tenant in self._erased or tenant in self._erasing:
            raise TenantErased(f"tenant {tenant} is erased: its personal data can no longer be recorded")
        key = self._load(tenant, create=True)
        if key is None:
            raise TenantErased(f"tenant {tenant} is erased: its personal data can no longer be recorded")
        return key

    def _load(self, tenant: UUID, *, create: bool) -> AESGCM | None:
        with self._connect() as conn:
            row = conn.execute("SELECT master_key_id, nonce, wrapped, erased_at FROM tenant_data_keys"
                               " WHERE tenant_id = %s", (tenant,)).fetchone()
            if row is None and create:
                fresh = self.master().seal(base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
                                           tenant_id=str(tenant), provider=PURPOSE)
                # A concurrent first use of another process may win: its key is the tenant's.
                conn.execute("INSERT INTO tenant_data_keys (tenant_id, master_key_id, nonce, wrapped)"
                             " VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id) DO NOTHING",
                             (tenant, fresh.key_id, fresh.nonce, fresh.ciphertext))
                row = conn.execute("SELECT master_key_id, nonce, wrapped, erased_at FROM tenant_data_keys"
                                   " WHERE tenant_id = %s", (tenant,)).fetchone()
        if row is None:
            return None
        if row["erased_at"] is not None or row["wrapped"] is None:
            with self._lock:
                self._erased.add(tenant)
                self._cache.pop(tenant, None)
            return None
        sealed = Sealed(row["master_key_id"], bytes(row["nonce"]), bytes(row["wrapped"]))
        key = AESGCM(base64.b64decode(self.master().open(sealed, tenant_id=str(tenant), provider=PURPOSE)))
        with self._lock:
            if tenant in self._erasing:
                return None
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[tenant] = (key, time.monotonic() + self.ttl)
        return key

    # -- erasure ----------------------------------------------------------------------------------
    def begin_erasure(self, tenant: UUID) -> None:
        """From now on this process reads the tenant as erased (before the key row is destroyed)."""
        with self._lock:
            self._erasing.add(tenant)
            self._cache.pop(tenant, None)

    def end_erasure(self, tenant: UUID, *, erased: bool) -> None:
        with self._lock:
            self._erasing.discard(tenant)
            if erased:
                self._erased.add(tenant)

    def is_erased(self, tenant: UUID) -> bool:
        """Whether the tenant's key is destroyed (read from the database unless known)."""
        if tenant in self._erased:
            return True
        with self._connect() as conn:
            row = conn.execute("SELECT erased_at FROM tenant_data_keys WHERE tenant_id = %s", (tenant,)).fetchone()
        if row is not None and row["erased_at"] is not None:
            with self._lock:
                self._erased.add(tenant)
            return True
        return False


def destroy_key_sql() -> str:
    """The statement that destroys a tenant's data key (parameters: tenant id, who): run in the
    erasure's own transaction, under the tenant's row-level security."""
    return ("INSERT INTO tenant_data_keys (tenant_id, erased_at, erased_by) VALUES (%s, now(), %s)"
            " ON CONFLICT (tenant_id) DO UPDATE SET master_key_id = NULL, nonce = NULL, wrapped = NULL,"
            " erased_at = now(), erased_by = EXCLUDED.erased_by")
