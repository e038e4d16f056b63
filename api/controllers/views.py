"""Routes backed by asynchronous read models: the caller's daily usage and admin-wide stats."""
from __future__ import annotations

from litestar import Controller


class UsageController(Controller):
    path = "/api/v1"
    tags = ["usage"]
