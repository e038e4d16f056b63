from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CompleteJob")


@_attrs_define
class CompleteJob:
    """
    Attributes:
        cost_actual (float | None | Unset):
    """

    cost_actual: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cost_actual: float | None | Unset
        if isinstance(self.cost_actual, Unset):
            cost_actual = UNSET
        else:
            cost_actual = self.cost_actual

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if cost_actual is not UNSET:
            field_dict["cost_actual"] = cost_actual

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_cost_actual(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        cost_actual = _parse_cost_actual(d.pop("cost_actual", UNSET))

        complete_job = cls(
            cost_actual=cost_actual,
        )

        return complete_job
