from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RebuildProgressOut")


@_attrs_define
class RebuildProgressOut:
    """
    Attributes:
        phase (str):
        events_done (int):
        events_total (int):
        events_per_second (float):
        eta_seconds (float | None):
        started_at (datetime.datetime):
        tenant_id (None | Unset | UUID):
    """

    phase: str
    events_done: int
    events_total: int
    events_per_second: float
    eta_seconds: float | None
    started_at: datetime.datetime
    tenant_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        phase = self.phase

        events_done = self.events_done

        events_total = self.events_total

        events_per_second = self.events_per_second

        eta_seconds: float | None
        eta_seconds = self.eta_seconds

        started_at = self.started_at.isoformat()

        tenant_id: None | str | Unset
        if isinstance(self.tenant_id, Unset):
            tenant_id = UNSET
        elif isinstance(self.tenant_id, UUID):
            tenant_id = str(self.tenant_id)
        else:
            tenant_id = self.tenant_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "phase": phase,
                "events_done": events_done,
                "events_total": events_total,
                "events_per_second": events_per_second,
                "eta_seconds": eta_seconds,
                "started_at": started_at,
            }
        )
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        phase = d.pop("phase")

        events_done = d.pop("events_done")

        events_total = d.pop("events_total")

        events_per_second = d.pop("events_per_second")

        def _parse_eta_seconds(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        eta_seconds = _parse_eta_seconds(d.pop("eta_seconds"))

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        def _parse_tenant_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                tenant_id_type_0 = UUID(data)

                return tenant_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        tenant_id = _parse_tenant_id(d.pop("tenant_id", UNSET))

        rebuild_progress_out = cls(
            phase=phase,
            events_done=events_done,
            events_total=events_total,
            events_per_second=events_per_second,
            eta_seconds=eta_seconds,
            started_at=started_at,
            tenant_id=tenant_id,
        )

        rebuild_progress_out.additional_properties = d
        return rebuild_progress_out

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
