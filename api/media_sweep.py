"""What removes media bytes: the asset expiry sweep (at once, for the assets it expires), and the
orphan-bytes sweep (every object of the service's stores that no asset holds any more).

The schedule of removals is the assets table itself, not a queue: bytes are due for removal when no
asset holds their URI, that is when every asset naming them has expired, or was deleted more than
AVM_MEDIA_DELETED_RETENTION_SECONDS ago (until then a deleted asset can be restored, bytes and
all). A store that is down when an asset expires loses nothing: the bytes stay unheld and the next
orphan-bytes run removes them. An object younger than AVM_MEDIA_ORPHAN_GRACE_SECONDS is never taken
(an upload is registered as an asset just after its bytes are committed). docs/decisions/i14-store.md.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api.media import deleted_retention_seconds, orphan_grace_seconds
from domain.errors import Conflict
from projections import assets as q

if TYPE_CHECKING:
    from api.services import Services
    from domain.context import CommandContext

log = logging.getLogger("avm.media")


def _held_since(now: datetime) -> datetime:
    """A deleted asset deleted after this still holds its bytes, for the sweeps. One grace period
    later than the restore limit: a restore accepted just before the limit is never raced."""
    return now - timedelta(seconds=deleted_retention_seconds() + orphan_grace_seconds())


def check_restorable(services: Services, tenant: UUID, asset_id: UUID, now: datetime | None = None) -> None:
    """409 for a deleted asset whose bytes the service removed (or is about to): it was deleted
    more than AVM_MEDIA_DELETED_RETENTION_SECONDS ago. Any other asset is left to the command."""
    with services.read(tenant) as conn:
        row = q.get_asset(conn, tenant, asset_id, include_deleted=True)
    if row is None or row["deleted_at"] is None or not services.media.owns(row["uri"]):
        return
    retention = deleted_retention_seconds()
    if row["deleted_at"] <= (now or datetime.now(timezone.utc)) - timedelta(seconds=retention):
        raise Conflict(f"the asset was deleted more than {retention:g} seconds ago and its bytes are removed: "
                       "it can no longer be restored")


def remove_expired_bytes(services: Services, asset_ids: Iterable[UUID]) -> int:
    """Remove the bytes of those of `asset_ids` that have expired, unless another asset still holds
    them. A store that fails is logged and the bytes are left to the orphan-bytes sweep (they are
    no asset's now: nothing is lost). Returns how many objects were removed."""
    asset_ids = list(asset_ids)
    if not asset_ids:
        return 0
    with services.read(scope="system") as conn:
        uris = [u for u in q.expired_uris(conn, asset_ids) if services.media.resolve(u) is not None]
        held = q.held_uris(conn, uris, _held_since(datetime.now(timezone.utc))) if uris else set()
    removed = 0
    for uri in uris:
        if uri in held:
            continue
        try:
            services.media.delete_uri(uri)
            removed += 1
        except Exception as exc:  # noqa: BLE001 - the orphan-bytes sweep removes them later
            log.warning("could not remove the bytes of an expired asset, %s (left to the orphan-bytes sweep): %s",
                        uri, exc)
    return removed


def sweep_orphan_bytes(services: Services, _ctx: CommandContext, skipped: set[Any],
                       now: datetime | None = None) -> int:
    """List every store the service reads, a page at a time, and remove each object that no asset
    holds and that is older than the grace period. An object that cannot be removed goes into
    `skipped` (counted; tried again next run); a listing that fails fails the run."""
    now = now or datetime.now(timezone.utc)
    young = now - timedelta(seconds=orphan_grace_seconds())
    held_since = _held_since(now)
    removed = 0
    for location in services.media.locations:
        for page in location.listing():
            candidates = [o for o in page if o.last_modified <= young and o.uri not in skipped]
            if not candidates:
                continue
            with services.read(scope="system") as conn:
                held = q.held_uris(conn, [o.uri for o in candidates], held_since)
            for item in candidates:
                if item.uri in held:
                    continue
                try:
                    location.delete(item.key)
                    removed += 1
                except Exception as exc:  # noqa: BLE001 - counted, and tried again next run
                    log.warning("orphan bytes %s: %s", item.uri, exc)
                    skipped.add(item.uri)
    return removed
