"""Routes of the caller's own model API keys (bring your own key: premium and admin users)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.openapi.datastructures import ResponseSpec

from api import model_keys as m
from api.auth import requires_role, tenant_roles
from api.http import COMMAND_ERRORS, READ_ERRORS, errors
from api.schemas import ModelKeyList, ModelKeyOut, ModelProvider, SetModelKey
from api.services import Services
from domain.application import CommandContext
from domain.users import MODEL_KEY_ROLES

key_holders = requires_role(*MODEL_KEY_ROLES)


class ModelKeyController(Controller):
    path = "/api/v1/me/model-keys"
    tags = ["users"]
    # Listing and deleting stay open to a user who is no longer premium: what is stored can be seen and removed.
    guards = [tenant_roles]

    @get("/", sync_to_thread=True, responses={**READ_ERRORS, **errors(403)})
    def list_model_keys(self, request: Request[Any, Any, Any], services: Services) -> ModelKeyList:
        """The caller's model keys: provider, last four characters, fingerprint, when set (never the key)."""
        with services.read(request.user.tenant_id) as conn:
            rows = m.list_model_keys(conn, request.user.tenant_id)
        return ModelKeyList(items=[ModelKeyOut(**r) for r in rows])

    @put("/{provider:str}", status_code=201, sync_to_thread=True, guards=[key_holders],
         responses={**COMMAND_ERRORS, **errors(403),
                    200: ResponseSpec(data_container=ModelKeyOut, description="The key replaced the stored one")})
    def set_model_key(self, provider: ModelProvider, data: SetModelKey, services: Services,
                      ctx: CommandContext) -> Response[ModelKeyOut]:
        """Store (201) or replace (200) the caller's key for a provider, sealed; premium and admin only."""
        user, created = m.set_model_key(services, ctx, provider, data.key)
        stored = user.model_keys[provider]
        return Response(ModelKeyOut(provider=provider, last4=stored["last4"], fingerprint=stored["fingerprint"],
                                    set_at=datetime.fromisoformat(stored["set_at"])),
                        status_code=201 if created else 200)

    @delete("/{provider:str}", status_code=204, sync_to_thread=True, responses={**COMMAND_ERRORS, **errors(403)})
    def delete_model_key(self, provider: ModelProvider, services: Services, ctx: CommandContext) -> None:
        """Delete the caller's key for a provider; a worker gets it no more."""
        m.remove_model_key(services, ctx, provider)
