from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="LastRebuildOut")


@_attrs_define
class LastRebuildOut:
    """
    Attributes:
        ok (bool):
        finished_at (datetime.datetime):
        tenant_id (None | Unset | UUID):
        events (int | None | Unset):
        seconds (float | None | Unset):
        locked_seconds (float | None | Unset):
        error (None | str | Unset):
    """

    ok: bool
    finished_at: datetime.datetime
    tenant_id: None | Unset | UUID = UNSET
    events: int | None | Unset = UNSET
    seconds: float | None | Unset = UNSET
    locked_seconds: float | None | Unset = UNSET
    error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok

        finished_at = self.finished_at.isoformat()

        tenant_id: None | str | Unset
        if isinstance(self.tenant_id, Unset):
            tenant_id = UNSET
        elif isinstance(self.tenant_id, UUID):
            tenant_id = str(self.tenant_id)
        else:
            tenant_id = self.tenant_id

        events: int | None | Unset
        if isinstance(self.events, Unset):
            events = UNSET
        else:
            events = self.events

        seconds: float | None | Unset
        if isinstance(self.seconds, Unset):
            seconds = UNSET
        else:
            seconds = self.seconds

        locked_seconds: float | None | Unset
        if isinstance(self.locked_seconds, Unset):
            locked_seconds = UNSET
        else:
            locked_seconds = self.locked_seconds

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ok": ok,
                "finished_at": finished_at,
            }
        )
        if tenant_id is not UNSET:
            field_dict["tenant_id"] = tenant_id
        if events is not UNSET:
            field_dict["events"] = events
        if seconds is not UNSET:
            field_dict["seconds"] = seconds
        if locked_seconds is not UNSET:
            field_dict["locked_seconds"] = locked_seconds
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ok = d.pop("ok")

        finished_at = datetime.datetime.fromisoformat(d.pop("finished_at"))

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

        def _parse_events(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        events = _parse_events(d.pop("events", UNSET))

        def _parse_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        seconds = _parse_seconds(d.pop("seconds", UNSET))

        def _parse_locked_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        locked_seconds = _parse_locked_seconds(d.pop("locked_seconds", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        last_rebuild_out = cls(
            ok=ok,
            finished_at=finished_at,
            tenant_id=tenant_id,
            events=events,
            seconds=seconds,
            locked_seconds=locked_seconds,
            error=error,
        )

        last_rebuild_out.additional_properties = d
        return last_rebuild_out

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
