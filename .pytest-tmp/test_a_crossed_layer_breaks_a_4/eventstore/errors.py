"""Typed errors of the event store: a database constraint violation named by what it means, not by its SQL."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from eventsourcing.persistence import IntegrityError

# What a violated constraint means, for the layer that knows: constraint name -> the error to raise.
# The composition root (api/composition.py) gives the recorder this table; the domain never sees a name.
ConstraintErrors = Mapping[str, Callable[[], Exception]]


class UniqueViolation(IntegrityError):
    """Raised when a write breaks a unique or primary key constraint that no one gave a meaning to."""

    def __init__(self, message: str, constraint: str | None) -> None:
        super().__init__(message)
        self.constraint = constraint


def constraint_of(error: BaseException) -> str | None:
    """The name of the constraint a database error (or the error it was raised from) violated."""
    for candidate in (error, error.__cause__):
        name = getattr(getattr(candidate, "diag", None), "constraint_name", None)
        if name:
            return str(name)
    return None


def typed(error: IntegrityError, meanings: ConstraintErrors) -> Exception:
    """The error a constraint violation stands for: the mapped one, else a UniqueViolation naming it;
    the database's own error stays its cause."""
    constraint = constraint_of(error)
    meaning = meanings.get(constraint) if constraint else None
    translated = meaning() if meaning is not None else UniqueViolation(str(error), constraint)
    translated.__cause__ = error.__cause__ or error
    return translated
