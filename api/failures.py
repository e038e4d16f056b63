"""The count of items a sweep, the job queue or an async view skipped after an error (on /metrics)."""
from __future__ import annotations

from prometheus_client import Counter

# Process-wide, like the registry it lives in.
ITEM_FAILURES = Counter("avm_item_failures", "Items a sweep, the job queue or an async view skipped after an "
                        "error (logged with their id; retried on the next run)", ["work"])


def count_item_failure(work: str, _item: object = None, _error: object = None) -> None:
    """The application's and the views' hook for an item skipped after an error (see ITEM_FAILURES)."""
    ITEM_FAILURES.labels(work=work).inc()


# Process-wide too. A command run again after its save met a newer version of one of its aggregates
# (or its Idempotency-Key) saved first, by another thread or process (domain/plumbing.py).
CONFLICT_RETRIES = Counter("avm_conflict_retries", "Commands run again after their save met a newer version of "
                           "one of their aggregates, or their key, saved first (by another thread or process)")


def count_conflict_retry() -> None:
    """The application's hook for a command retried after a conflict (see CONFLICT_RETRIES)."""
    CONFLICT_RETRIES.inc()
