from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ChainCheck")


@_attrs_define
class ChainCheck:
    """
    Attributes:
        ok (bool):
        checked (int):
        head_hash (str):
        tenant_id (UUID):
        last_seq (int):
        first_bad_position (int | None | Unset):
        reason (None | str | Unset):
    """

    ok: bool
    checked: int
    head_hash: str
    tenant_id: UUID
    last_seq: int
    first_bad_position: int | None | Unset = UNSET
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok

        checked = self.checked

        head_hash = self.head_hash

        tenant_id = str(self.tenant_id)

        last_seq = self.last_seq

        first_bad_position: int | None | Unset
        if isinstance(self.first_bad_position, Unset):
            first_bad_position = UNSET
        else:
            first_bad_position = self.first_bad_position

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ok": ok,
                "checked": checked,
                "head_hash": head_hash,
                "tenant_id": tenant_id,
                "last_seq": last_seq,
            }
        )
        if first_bad_position is not UNSET:
            field_dict["first_bad_position"] = first_bad_position
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ok = d.pop("ok")

        checked = d.pop("checked")

        head_hash = d.pop("head_hash")

        tenant_id = UUID(d.pop("tenant_id"))

        last_seq = d.pop("last_seq")

        def _parse_first_bad_position(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        first_bad_position = _parse_first_bad_position(
            d.pop("first_bad_position", UNSET)
        )

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        chain_check = cls(
            ok=ok,
            checked=checked,
            head_hash=head_hash,
            tenant_id=tenant_id,
            last_seq=last_seq,
            first_bad_position=first_bad_position,
            reason=reason,
        )

        chain_check.additional_properties = d
        return chain_check

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
