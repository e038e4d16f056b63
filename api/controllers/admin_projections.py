"""Admin routes over the read models: rebuild one while the service serves, and watch progress."""
from __future__ import annotations

from litestar import Controller

from api.auth import admin_only


class AdminProjectionController(Controller):
    path = "/api/v1/admin/projections"
    tags = ["admin"]
    guards = [admin_only]
