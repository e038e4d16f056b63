"""`GET /api/v1/me/export`: everything the service holds about the caller, streamed (access and portability)."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any

from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.response import Stream

from api.auth import command_context
from api.controllers.audit import AUDIT_ERRORS, NDJSON, TenantId, audited_tenant
from api.services import Services
from projections import audit as a
from projections import personal_export as p


class PersonalExportController(Controller):
    path = "/api/v1/me/export"
    tags = ["users"]
    # Like every route of the caller's own account, open to every role (no 403): anyone may take their data.

    @get("/", sync_to_thread=True, media_type=NDJSON, responses={
        200: ResponseSpec(data_container=str, media_type=NDJSON, generate_examples=False,
                          description="One JSON object a line: {section, data} for the profile, identities (no"
                                      " secrets), tokens, sessions, model keys (last four characters only),"
                                      " projects, scenes, jobs, assets, presets, usage, then every event of the"
                                      " audit trail; last, a manifest line with each section's count"),
        **{code: spec for code, spec in AUDIT_ERRORS.items() if code != 403}})
    def export_my_data(self, request: Request[Any, Any, Any], services: Services, tenant_id: TenantId = None) -> Stream:
        """Download all of your data as NDJSON (an admin: any tenant's, recorded on that tenant's trail)."""
        tenant, foreign = audited_tenant(request, services, tenant_id)
        with services.read(tenant) as conn:
            head = a.get_head(conn, tenant)
        upto_seq = head["tenant_seq"] if head else 0
        if foreign:  # recorded before any byte leaves; it lands after upto_seq, outside this export
            services.app.record_access(command_context(request), str(tenant), action="personal.export",
                                       resource="/api/v1/me/export", details={})
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return Stream(p.export_lines(partial(services.read, tenant), services.decode_event_state, tenant,
                                     upto_seq=upto_seq),
                      media_type=NDJSON,
                      headers={"Content-Disposition": f'attachment; filename="avm-data-{tenant}-{stamp}.ndjson"'})
