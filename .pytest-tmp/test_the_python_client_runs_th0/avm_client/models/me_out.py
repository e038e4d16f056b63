from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.me_out_role import MeOutRole
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.me_out_usage import MeOutUsage
    from ..models.settings import Settings


T = TypeVar("T", bound="MeOut")


@_attrs_define
class MeOut:
    """
    Attributes:
        id (UUID):
        email (str):
        name (None | str):
        image (None | str):
        role (MeOutRole):
        settings (Settings):
        version (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        default_preset_id (None | Unset | UUID):
        usage (MeOutUsage | Unset):
    """

    id: UUID
    email: str
    name: None | str
    image: None | str
    role: MeOutRole
    settings: Settings
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    default_preset_id: None | Unset | UUID = UNSET
    usage: MeOutUsage | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        email = self.email

        name: None | str
        name = self.name

        image: None | str
        image = self.image

        role = self.role.value

        settings = self.settings.to_dict()

        version = self.version

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        default_preset_id: None | str | Unset
        if isinstance(self.default_preset_id, Unset):
            default_preset_id = UNSET
        elif isinstance(self.default_preset_id, UUID):
            default_preset_id = str(self.default_preset_id)
        else:
            default_preset_id = self.default_preset_id

        usage: dict[str, Any] | Unset = UNSET
        if not isinstance(self.usage, Unset):
            usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "email": email,
                "name": name,
                "image": image,
                "role": role,
                "settings": settings,
                "version": version,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if default_preset_id is not UNSET:
            field_dict["default_preset_id"] = default_preset_id
        if usage is not UNSET:
            field_dict["usage"] = usage

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.me_out_usage import MeOutUsage
        from ..models.settings import Settings

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        email = d.pop("email")

        def _parse_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        name = _parse_name(d.pop("name"))

        def _parse_image(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        image = _parse_image(d.pop("image"))

        role = MeOutRole(d.pop("role"))

        settings = Settings.from_dict(d.pop("settings"))

        version = d.pop("version")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_default_preset_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                default_preset_id_type_0 = UUID(data)

                return default_preset_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        default_preset_id = _parse_default_preset_id(d.pop("default_preset_id", UNSET))

        _usage = d.pop("usage", UNSET)
        usage: MeOutUsage | Unset
        if isinstance(_usage, Unset):
            usage = UNSET
        else:
            usage = MeOutUsage.from_dict(_usage)

        me_out = cls(
            id=id,
            email=email,
            name=name,
            image=image,
            role=role,
            settings=settings,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            default_preset_id=default_preset_id,
            usage=usage,
        )

        me_out.additional_properties = d
        return me_out

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
