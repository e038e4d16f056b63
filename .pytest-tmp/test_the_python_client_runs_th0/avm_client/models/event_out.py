from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_out_data import EventOutData


T = TypeVar("T", bound="EventOut")


@_attrs_define
class EventOut:
    """
    Attributes:
        position (int):
        tenant_seq (int):
        aggregate_id (UUID):
        aggregate_type (str):
        version (int):
        type_ (str):
        recorded_at (datetime.datetime):
        actor_id (None | str):
        command_id (None | str):
        correlation_id (None | str):
        causation_id (None | str):
        data (EventOutData):
        hash_ (str):
        prev_hash (str):
        reason (None | str | Unset):
    """

    position: int
    tenant_seq: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    type_: str
    recorded_at: datetime.datetime
    actor_id: None | str
    command_id: None | str
    correlation_id: None | str
    causation_id: None | str
    data: EventOutData
    hash_: str
    prev_hash: str
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        position = self.position

        tenant_seq = self.tenant_seq

        aggregate_id = str(self.aggregate_id)

        aggregate_type = self.aggregate_type

        version = self.version

        type_ = self.type_

        recorded_at = self.recorded_at.isoformat()

        actor_id: None | str
        actor_id = self.actor_id

        command_id: None | str
        command_id = self.command_id

        correlation_id: None | str
        correlation_id = self.correlation_id

        causation_id: None | str
        causation_id = self.causation_id

        data = self.data.to_dict()

        hash_ = self.hash_

        prev_hash = self.prev_hash

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "position": position,
                "tenant_seq": tenant_seq,
                "aggregate_id": aggregate_id,
                "aggregate_type": aggregate_type,
                "version": version,
                "type": type_,
                "recorded_at": recorded_at,
                "actor_id": actor_id,
                "command_id": command_id,
                "correlation_id": correlation_id,
                "causation_id": causation_id,
                "data": data,
                "hash": hash_,
                "prev_hash": prev_hash,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.event_out_data import EventOutData

        d = dict(src_dict)
        position = d.pop("position")

        tenant_seq = d.pop("tenant_seq")

        aggregate_id = UUID(d.pop("aggregate_id"))

        aggregate_type = d.pop("aggregate_type")

        version = d.pop("version")

        type_ = d.pop("type")

        recorded_at = datetime.datetime.fromisoformat(d.pop("recorded_at"))

        def _parse_actor_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        actor_id = _parse_actor_id(d.pop("actor_id"))

        def _parse_command_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        command_id = _parse_command_id(d.pop("command_id"))

        def _parse_correlation_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        correlation_id = _parse_correlation_id(d.pop("correlation_id"))

        def _parse_causation_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        causation_id = _parse_causation_id(d.pop("causation_id"))

        data = EventOutData.from_dict(d.pop("data"))

        hash_ = d.pop("hash")

        prev_hash = d.pop("prev_hash")

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        event_out = cls(
            position=position,
            tenant_seq=tenant_seq,
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            version=version,
            type_=type_,
            recorded_at=recorded_at,
            actor_id=actor_id,
            command_id=command_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data,
            hash_=hash_,
            prev_hash=prev_hash,
            reason=reason,
        )

        event_out.additional_properties = d
        return event_out

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
