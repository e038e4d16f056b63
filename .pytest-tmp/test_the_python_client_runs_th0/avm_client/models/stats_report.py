from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.stats_day import StatsDay
    from ..models.view_state import ViewState


T = TypeVar("T", bound="StatsReport")


@_attrs_define
class StatsReport:
    """
    Attributes:
        since (datetime.date):
        until (datetime.date):
        currency (str):
        items (list[StatsDay]):
        view (ViewState):
    """

    since: datetime.date
    until: datetime.date
    currency: str
    items: list[StatsDay]
    view: ViewState
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        since = self.since.isoformat()

        until = self.until.isoformat()

        currency = self.currency

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        view = self.view.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "since": since,
                "until": until,
                "currency": currency,
                "items": items,
                "view": view,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.stats_day import StatsDay
        from ..models.view_state import ViewState

        d = dict(src_dict)
        since = datetime.date.fromisoformat(d.pop("since"))

        until = datetime.date.fromisoformat(d.pop("until"))

        currency = d.pop("currency")

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = StatsDay.from_dict(items_item_data)

            items.append(items_item)

        view = ViewState.from_dict(d.pop("view"))

        stats_report = cls(
            since=since,
            until=until,
            currency=currency,
            items=items,
            view=view,
        )

        stats_report.additional_properties = d
        return stats_report

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
