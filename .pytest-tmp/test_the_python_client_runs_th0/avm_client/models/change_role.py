from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.change_role_role import ChangeRoleRole

T = TypeVar("T", bound="ChangeRole")


@_attrs_define
class ChangeRole:
    """
    Attributes:
        role (ChangeRoleRole):
    """

    role: ChangeRoleRole

    def to_dict(self) -> dict[str, Any]:
        role = self.role.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "role": role,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        role = ChangeRoleRole(d.pop("role"))

        change_role = cls(
            role=role,
        )

        return change_role
