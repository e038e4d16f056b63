from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="UsageDay")


@_attrs_define
class UsageDay:
    """
    Attributes:
        day (datetime.date):
        projects_created (int):
        scenes_created (int):
        renders_succeeded (int):
        renders_failed (int):
        storage_bytes (int):
        storage_bytes_added (int):
        storage_bytes_removed (int):
        cost_estimated (float):
        cost_actual (float):
    """

    day: datetime.date
    projects_created: int
    scenes_created: int
    renders_succeeded: int
    renders_failed: int
    storage_bytes: int
    storage_bytes_added: int
    storage_bytes_removed: int
    cost_estimated: float
    cost_actual: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        day = self.day.isoformat()

        projects_created = self.projects_created

        scenes_created = self.scenes_created

        renders_succeeded = self.renders_succeeded

        renders_failed = self.renders_failed

        storage_bytes = self.storage_bytes

        storage_bytes_added = self.storage_bytes_added

        storage_bytes_removed = self.storage_bytes_removed

        cost_estimated = self.cost_estimated

        cost_actual = self.cost_actual

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "day": day,
                "projects_created": projects_created,
                "scenes_created": scenes_created,
                "renders_succeeded": renders_succeeded,
                "renders_failed": renders_failed,
                "storage_bytes": storage_bytes,
                "storage_bytes_added": storage_bytes_added,
                "storage_bytes_removed": storage_bytes_removed,
                "cost_estimated": cost_estimated,
                "cost_actual": cost_actual,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        day = datetime.date.fromisoformat(d.pop("day"))

        projects_created = d.pop("projects_created")

        scenes_created = d.pop("scenes_created")

        renders_succeeded = d.pop("renders_succeeded")

        renders_failed = d.pop("renders_failed")

        storage_bytes = d.pop("storage_bytes")

        storage_bytes_added = d.pop("storage_bytes_added")

        storage_bytes_removed = d.pop("storage_bytes_removed")

        cost_estimated = d.pop("cost_estimated")

        cost_actual = d.pop("cost_actual")

        usage_day = cls(
            day=day,
            projects_created=projects_created,
            scenes_created=scenes_created,
            renders_succeeded=renders_succeeded,
            renders_failed=renders_failed,
            storage_bytes=storage_bytes,
            storage_bytes_added=storage_bytes_added,
            storage_bytes_removed=storage_bytes_removed,
            cost_estimated=cost_estimated,
            cost_actual=cost_actual,
        )

        usage_day.additional_properties = d
        return usage_day

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
