"""Rebuild and verify the inline read models from the event log, while the service serves.

One builder (builder.py) folds the log (eventstore.replay) into aggregates and COPYs the
projectors' rows (`InlineProjection.rows`, the very function the inline path runs) into tables
prepared beside the live ones (catalog.py). Two operations use it:

- `blue_green` (swap.py): build the new tables while the service serves, catch up the tail without
  a lock, then take the events lock for a moment to catch up the last few events and swap the
  tables (or, for one tenant, replace that tenant's rows) atomically;
- `verify` (verify.py): build into scratch tables inside one snapshot and compare every row with
  the live tables of the same snapshot (nothing is locked, nothing live is touched).

status.py knows which rebuilds run, here (progress, last outcome) and elsewhere (advisory locks).
"""
from __future__ import annotations

from projections.rebuild.builder import Builder, handled_types
from projections.rebuild.status import (
    RUNNING, RebuildProgress, RebuildResult, RebuildRunning, advisory_key, database_key, rebuilds_elsewhere,
)
from projections.rebuild.swap import blue_green, start_in_background
from projections.rebuild.verify import Difference, VerifyResult, verify

__all__ = [
    "RUNNING", "Builder", "Difference", "RebuildProgress", "RebuildResult", "RebuildRunning", "VerifyResult",
    "advisory_key", "blue_green", "database_key", "handled_types", "rebuilds_elsewhere", "start_in_background",
    "verify",
]
