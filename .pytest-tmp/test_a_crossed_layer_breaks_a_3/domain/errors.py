"""Domain errors: every refusal the domain can make, each mapped once to HTTP in api/."""
from __future__ import annotations

from eventsourcing.persistence import IntegrityError


class DomainProblem(Exception):
    """Raised when a command breaks a rule of the domain (base class)."""

    title = "Domain rule violated"

    def __init__(self, detail: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class ValidationProblem(DomainProblem):
    """Raised when a value is malformed or out of range; names the field."""

    title = "Invalid input"


class NotFound(DomainProblem):
    """Raised when a resource does not exist or belongs to another tenant."""

    title = "Not found"


class Conflict(DomainProblem):
    """Raised when a command conflicts with the current state of a resource."""

    title = "Conflict"


class InvalidTransition(Conflict):
    """Raised when a status change is not one of the allowed moves."""

    title = "Status change not allowed"


class StaleVersion(DomainProblem):
    """Raised when the version a command expects is no longer current (api/ answers 412)."""

    title = "Precondition failed"


class EmailTaken(Conflict):
    """Raised when an email is already used by another user (case-insensitive)."""

    title = "Email already registered"


class EmptyStory(ValidationProblem):
    """Raised when a story text has nothing to segment."""

    title = "Story is empty"


class QuotaExceeded(DomainProblem):
    """Raised when a tenant would go over a daily quota."""

    title = "Quota exceeded"


class Forbidden(DomainProblem):
    """Raised when a caller may see a resource but not change it (e.g. a built-in preset)."""

    title = "Forbidden"


class ProjectHasActiveJobs(Conflict):
    """Raised when a project with a queued or running job would be deleted or re-queued."""

    title = "Project has an active job"


class CommandAlreadyApplied(DomainProblem):
    """Raised when a command's id (the caller's key) was already recorded by an earlier (or concurrent) command."""

    title = "Command already applied"


class ConcurrentChange(IntegrityError):
    """Raised when another command saved a new version of the same aggregate first (nothing of this
    save was written): the application reloads and retries, or answers StaleVersion."""
