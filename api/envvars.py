"""Reading settings from the environment: one parser for bounded whole numbers."""
from __future__ import annotations

from collections.abc import Mapping


def whole_number(env: Mapping[str, str], name: str, default: int, low: int, high: int,
                 error: type[Exception] = ValueError) -> int:
    """`env[name]` as a whole number from `low` to `high` (ASCII digits only), `default` when unset
    or blank; anything else raises `error` naming the variable, the range and the value."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise error(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)
