from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.change_status_status import ChangeStatusStatus

T = TypeVar("T", bound="ChangeStatus")


@_attrs_define
class ChangeStatus:
    """
    Attributes:
        status (ChangeStatusStatus):
    """

    status: ChangeStatusStatus

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = ChangeStatusStatus(d.pop("status"))

        change_status = cls(
            status=status,
        )

        return change_status
