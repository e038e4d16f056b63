from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.settings_patch import SettingsPatch


T = TypeVar("T", bound="UpdateMe")


@_attrs_define
class UpdateMe:
    """
    Attributes:
        name (str | Unset):
        image (str | Unset):
        settings (SettingsPatch | Unset):
    """

    name: str | Unset = UNSET
    image: str | Unset = UNSET
    settings: SettingsPatch | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name: str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        image: str | Unset
        if isinstance(self.image, Unset):
            image = UNSET
        else:
            image = self.image

        settings: dict[str, Any] | Unset = UNSET
        if not isinstance(self.settings, Unset):
            settings = self.settings.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if image is not UNSET:
            field_dict["image"] = image
        if settings is not UNSET:
            field_dict["settings"] = settings

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.settings_patch import SettingsPatch

        d = dict(src_dict)

        def _parse_name(data: object) -> str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_image(data: object) -> str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(str | Unset, data)

        image = _parse_image(d.pop("image", UNSET))

        _settings = d.pop("settings", UNSET)
        settings: SettingsPatch | Unset
        if isinstance(_settings, Unset):
            settings = UNSET
        else:
            settings = SettingsPatch.from_dict(_settings)

        update_me = cls(
            name=name,
            image=image,
            settings=settings,
        )

        return update_me
