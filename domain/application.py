"""The avm application: every command of the domain, one save (one transaction) each."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.access import Access
from domain.errors import EmailTaken, NotFound, StaleVersion, ValidationProblem
from domain.projects import Project
from domain.shared import TenantAggregate
from domain.users import User

A = TypeVar("A", bound=TenantAggregate)
R = TypeVar("R")

MAX_CONFLICT_RETRIES = 8
TOKEN_PREFIX = "avm_"


@dataclass(frozen=True)
class CommandContext:
    """Who issues a command, for which tenant, and the ids that tie it to a request."""

    tenant_id: str
    actor_id: str
    command_id: str | None = None
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    causation_id: str | None = None

    @classmethod
    def system(cls, command: str, tenant_id: str = "00000000-0000-0000-0000-000000000000") -> CommandContext:
        return cls(tenant_id=tenant_id, actor_id=f"system:{command}")

    def for_tenant(self, tenant_id: str) -> CommandContext:
        return CommandContext(tenant_id, self.actor_id, self.command_id, self.correlation_id, self.causation_id)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _constraint(error: Exception) -> str | None:
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None)


class AvmApplication(Application[UUID]):
    """One application for the whole domain; the persistence module is chosen by the composition root."""

    name = "avm"
    env = {"IS_SNAPSHOTTING_ENABLED": "y"}
    snapshotting_intervals = {Project: 100, User: 100}

    # -- plumbing -------------------------------------------------------------------------------
    def _save(self, ctx: CommandContext, *aggregates: TenantAggregate) -> None:
        try:
            self.save(
                *aggregates,
                meta=ctx,
                tenants={a.id: UUID(a.tenant_id) for a in aggregates},
                aggregates=aggregates,
            )
        except IntegrityError as e:
            if _constraint(e) == "users_email_key":
                raise EmailTaken("a user with this email already exists", field="email") from None
            raise

    def load(self, cls: type[A], aggregate_id: UUID | str, tenant_id: str | None,
             version: int | None = None) -> A:
        """The aggregate, or NotFound when missing, of another type, or of another tenant."""
        try:
            agg = self.repository.get(UUID(str(aggregate_id)), version=version)
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"{cls.__name__.lower()} not found") from None
        if not isinstance(agg, cls) or (tenant_id is not None and agg.tenant_id != tenant_id):
            raise NotFound(f"{cls.__name__.lower()} not found")
        return agg

    def _change(self, ctx: CommandContext, cls: type[A], aggregate_id: UUID | str,
                expected_version: int | None, change: Callable[[A], R],
                *, tenant_id: str | None = "ctx") -> tuple[A, R]:
        """Load, check the version, apply, save; reload and retry on a concurrent write."""
        owner = ctx.tenant_id if tenant_id == "ctx" else tenant_id
        for _ in range(MAX_CONFLICT_RETRIES):
            agg = self.load(cls, aggregate_id, owner)
            agg.check_version(expected_version)
            result = change(agg)
            if not agg.pending_events:
                return agg, result
            try:
                self._save(ctx.for_tenant(agg.tenant_id), agg)
                return agg, result
            except IntegrityError as e:
                if _constraint(e) != "events_pkey":
                    raise
                if expected_version is not None:
                    raise StaleVersion(
                        f"version {expected_version} is stale: another change was applied first",
                        field="If-Match") from None
        raise StaleVersion("too many concurrent changes, try again", field="If-Match")

    # -- users ----------------------------------------------------------------------------------
    def register_user(self, ctx: CommandContext, *, email: str, name: str | None, role: str,
                      token_name: str = "default", expires_in_days: int | None = None,
                      now: datetime | None = None) -> tuple[User, str]:
        user = User.register(email=email, name=name, role=role)
        token = self._issue(user, token_name, expires_in_days, now)
        self._save(ctx.for_tenant(user.tenant_id), user)
        return user, token

    def _issue(self, user: User, name: str, expires_in_days: int | None, now: datetime | None) -> str:
        now = now or datetime.now(timezone.utc)
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise ValidationProblem("must be between 1 and 3650", field="expires_in_days")
        token = new_token()
        user.issue_token(
            token_id=str(uuid4()), name=name, token_hash=hash_token(token).hex(), prefix=token[:8],
            issued_at=now.isoformat(),
            expires_at=(now + timedelta(days=expires_in_days)).isoformat() if expires_in_days else None,
        )
        return token

    def issue_token(self, ctx: CommandContext, *, name: str, expires_in_days: int | None = None,
                    now: datetime | None = None) -> tuple[User, str, str]:
        def issue(user: User) -> str:
            return self._issue(user, name, expires_in_days, now)

        user, token = self._change(ctx, User, ctx.tenant_id, None, issue)
        token_id = next(t for t, v in user.tokens.items() if v["token_hash"] == hash_token(token).hex())
        return user, token_id, token

    def revoke_token(self, ctx: CommandContext, token_id: str, now: datetime | None = None) -> User:
        stamp = (now or datetime.now(timezone.utc)).isoformat()
        user, _ = self._change(ctx, User, ctx.tenant_id, None, lambda u: u.revoke_token(token_id, stamp))
        return user

    def update_me(self, ctx: CommandContext, expected_version: int | None, **changes: Any) -> User:
        user, _ = self._change(ctx, User, ctx.tenant_id, expected_version,
                               lambda u: u.update_profile(**changes))
        return user

    def change_role(self, ctx: CommandContext, user_id: str, role: str) -> User:
        user, _ = self._change(ctx, User, user_id, None, lambda u: u.change_role(role), tenant_id=None)
        return user

    # -- projects -------------------------------------------------------------------------------
    def create_project(self, ctx: CommandContext, *, title: str, description: str = "",
                       config: dict[str, Any] | None = None, preset_id: str | None = None,
                       preset_config: dict[str, Any] | None = None) -> Project:
        base = dict(preset_config or {})
        if config:
            from domain.config import merge_config

            base = merge_config(base, config) if base else config
        project = Project.create(tenant_id=ctx.tenant_id, title=title, description=description,
                                 config=base, preset_id=preset_id)
        self._save(ctx, project)
        return project

    def change_project(self, ctx: CommandContext, project_id: str, expected_version: int | None,
                       change: Callable[[Project], R]) -> tuple[Project, R]:
        return self._change(ctx, Project, project_id, expected_version, change)

    def delete_project(self, ctx: CommandContext, project_id: str, expected_version: int | None) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.delete())
        return project

    def restore_project(self, ctx: CommandContext, project_id: str, expected_version: int | None) -> Project:
        project, _ = self._change(ctx, Project, project_id, expected_version, lambda p: p.restore())
        return project

    # -- admin access ---------------------------------------------------------------------------
    def record_access(self, ctx: CommandContext, tenant_id: str, *, action: str, resource: str,
                      details: dict[str, Any] | None = None) -> Access:
        """Put an admin's read of `tenant_id`'s data on that tenant's audit trail (actor: the admin)."""
        access = Access(tenant_id=tenant_id, action=action, resource=resource, details=details or {})
        self._save(ctx.for_tenant(tenant_id), access)
        return access
