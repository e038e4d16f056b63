from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.project_config_patch import ProjectConfigPatch


T = TypeVar("T", bound="CreateProject")


@_attrs_define
class CreateProject:
    """
    Attributes:
        title (str):
        description (str | Unset):  Default: ''.
        config (None | ProjectConfigPatch | Unset):
        preset_id (None | Unset | UUID):
    """

    title: str
    description: str | Unset = ""
    config: None | ProjectConfigPatch | Unset = UNSET
    preset_id: None | Unset | UUID = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.project_config_patch import ProjectConfigPatch

        title = self.title

        description = self.description

        config: dict[str, Any] | None | Unset
        if isinstance(self.config, Unset):
            config = UNSET
        elif isinstance(self.config, ProjectConfigPatch):
            config = self.config.to_dict()
        else:
            config = self.config

        preset_id: None | str | Unset
        if isinstance(self.preset_id, Unset):
            preset_id = UNSET
        elif isinstance(self.preset_id, UUID):
            preset_id = str(self.preset_id)
        else:
            preset_id = self.preset_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "title": title,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if config is not UNSET:
            field_dict["config"] = config
        if preset_id is not UNSET:
            field_dict["preset_id"] = preset_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.project_config_patch import ProjectConfigPatch

        d = dict(src_dict)
        title = d.pop("title")

        description = d.pop("description", UNSET)

        def _parse_config(data: object) -> None | ProjectConfigPatch | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                config_type_0 = ProjectConfigPatch.from_dict(data)

                return config_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProjectConfigPatch | Unset, data)

        config = _parse_config(d.pop("config", UNSET))

        def _parse_preset_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                preset_id_type_0 = UUID(data)

                return preset_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        preset_id = _parse_preset_id(d.pop("preset_id", UNSET))

        create_project = cls(
            title=title,
            description=description,
            config=config,
            preset_id=preset_id,
        )

        return create_project
