from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.estimate_out_breakdown import EstimateOutBreakdown


T = TypeVar("T", bound="EstimateOut")


@_attrs_define
class EstimateOut:
    """
    Attributes:
        currency (str):
        low (float):
        expected (float):
        high (float):
        breakdown (EstimateOutBreakdown):
    """

    currency: str
    low: float
    expected: float
    high: float
    breakdown: EstimateOutBreakdown
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        low = self.low

        expected = self.expected

        high = self.high

        breakdown = self.breakdown.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
                "low": low,
                "expected": expected,
                "high": high,
                "breakdown": breakdown,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate_out_breakdown import EstimateOutBreakdown

        d = dict(src_dict)
        currency = d.pop("currency")

        low = d.pop("low")

        expected = d.pop("expected")

        high = d.pop("high")

        breakdown = EstimateOutBreakdown.from_dict(d.pop("breakdown"))

        estimate_out = cls(
            currency=currency,
            low=low,
            expected=expected,
            high=high,
            breakdown=breakdown,
        )

        estimate_out.additional_properties = d
        return estimate_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
