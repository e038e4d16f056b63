"""The count of items a sweep, the job queue or an async view skipped after an error (on /metrics)."""
from __future__ import annotations

from prometheus_client import Counter

# Process-wide, like the registry it lives in.
ITEM_FAILURES = Counter("avm_item_failures", "Items a sweep, the job queue or an async view skipped after an "
                        "error (logged with their id; retried on the next run)", ["work"])


def count_item_failure(work: str, _item: object = None, _error: object = None) -> None:
    """The application's and the views' hook for an item skipped after an error (see ITEM_FAILURES)."""
    ITEM_FAILURES.labels(work=work).inc()
