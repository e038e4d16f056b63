"""Audit routes: the tenant's events, export and chain verification."""
from __future__ import annotations

from litestar import Controller


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
