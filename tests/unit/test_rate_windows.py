"""The one rate limiter's count (api/limits.py): Litestar's fixed window, in one dictionary."""
from __future__ import annotations

from typing import Any

from api import limits
from api.limits import Limit, Windows


def test_a_window_allows_its_limit_then_refuses_until_it_resets(monkeypatch: Any) -> None:
    now = [1000.2]
    monkeypatch.setattr(limits, "time", lambda: now[0])
    windows, limit = Windows(), Limit(3, "second")

    taken = [windows.take("t", limit) for _ in range(4)]

    assert taken == [(True, 1, 1001), (True, 2, 1001), (True, 3, 1001), (False, 3, 1001)]
    assert limit.headers(3, 1001) == {"RateLimit-Policy": "3; w=1", "RateLimit-Limit": "3",
                                      "RateLimit-Remaining": "0", "RateLimit-Reset": "1"}
    assert windows.take("other", limit) == (True, 1, 1001)  # per key
    now[0] = 1001.0
    assert windows.take("t", limit) == (True, 1, 1002)  # a new window from the first request after the reset


def test_expired_keys_are_dropped_once_there_are_many(monkeypatch: Any) -> None:
    now = [2000.0]
    monkeypatch.setattr(limits, "time", lambda: now[0])
    monkeypatch.setattr(Windows, "PURGE_AT", 3)
    windows, limit = Windows(), Limit(5, "minute")
    for key in ("a", "b", "c"):
        windows.take(key, limit)
    now[0] = 2030.0
    windows.take("a", limit)  # still in its window
    now[0] = 2061.0

    windows.take("d", limit)

    assert set(windows.counts) == {"d"}  # a, b, c ended at 2060


def test_the_headers_a_response_carries_are_the_named_ones(monkeypatch: Any) -> None:
    monkeypatch.setattr(limits, "time", lambda: 500.5)
    limit = Limit(200, "second")

    assert dict(limit.raw_headers(3, 501)) == {k.lower().encode(): v.encode() for k, v in limit.headers(3, 501).items()}
