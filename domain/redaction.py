"""What personal data reads as once it is erased (issue 15; docs/decisions/i15-crypto.md)."""
from __future__ import annotations


def erased_email(user_id: object) -> str:
    """The email of an erased user (or of one whose email no longer reads): unique, derived from the id only."""
    return f"erased-{user_id}@erased.invalid"
