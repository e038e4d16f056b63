from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.project_config_patch import ProjectConfigPatch


T = TypeVar("T", bound="UpdatePreset")


@_attrs_define
class UpdatePreset:
    """
    Attributes:
        name (str | Unset):
        config (ProjectConfigPatch | Unset):
    """

    name: str | Unset = UNSET
    config: ProjectConfigPatch | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name: str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        config: dict[str, Any] | Unset = UNSET
        if not isinstance(self.config, Unset):
            config = self.config.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if config is not UNSET:
            field_dict["config"] = config

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.project_config_patch import ProjectConfigPatch

        d = dict(src_dict)

        def _parse_name(data: object) -> str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        _config = d.pop("config", UNSET)
        config: ProjectConfigPatch | Unset
        if isinstance(_config, Unset):
            config = UNSET
        else:
            config = ProjectConfigPatch.from_dict(_config)

        update_preset = cls(
            name=name,
            config=config,
        )

        return update_preset
