from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.project_out_status import ProjectOutStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.project_config import ProjectConfig


T = TypeVar("T", bound="ProjectOut")


@_attrs_define
class ProjectOut:
    """
    Attributes:
        id (UUID):
        title (str):
        description (str):
        status (ProjectOutStatus):
        config (ProjectConfig):
        preset_id (None | UUID):
        story_chars (int):
        scene_count (int):
        version (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        deleted_at (datetime.datetime | None):
        output_asset_id (None | Unset | UUID):
    """

    id: UUID
    title: str
    description: str
    status: ProjectOutStatus
    config: ProjectConfig
    preset_id: None | UUID
    story_chars: int
    scene_count: int
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None
    output_asset_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        title = self.title

        description = self.description

        status = self.status.value

        config = self.config.to_dict()

        preset_id: None | str
        if isinstance(self.preset_id, UUID):
            preset_id = str(self.preset_id)
        else:
            preset_id = self.preset_id

        story_chars = self.story_chars

        scene_count = self.scene_count

        version = self.version

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        deleted_at: None | str
        if isinstance(self.deleted_at, datetime.datetime):
            deleted_at = self.deleted_at.isoformat()
        else:
            deleted_at = self.deleted_at

        output_asset_id: None | str | Unset
        if isinstance(self.output_asset_id, Unset):
            output_asset_id = UNSET
        elif isinstance(self.output_asset_id, UUID):
            output_asset_id = str(self.output_asset_id)
        else:
            output_asset_id = self.output_asset_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "title": title,
                "description": description,
                "status": status,
                "config": config,
                "preset_id": preset_id,
                "story_chars": story_chars,
                "scene_count": scene_count,
                "version": version,
                "created_at": created_at,
                "updated_at": updated_at,
                "deleted_at": deleted_at,
            }
        )
        if output_asset_id is not UNSET:
            field_dict["output_asset_id"] = output_asset_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.project_config import ProjectConfig

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        title = d.pop("title")

        description = d.pop("description")

        status = ProjectOutStatus(d.pop("status"))

        config = ProjectConfig.from_dict(d.pop("config"))

        def _parse_preset_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                preset_id_type_0 = UUID(data)

                return preset_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        preset_id = _parse_preset_id(d.pop("preset_id"))

        story_chars = d.pop("story_chars")

        scene_count = d.pop("scene_count")

        version = d.pop("version")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_deleted_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deleted_at_type_0 = datetime.datetime.fromisoformat(data)

                return deleted_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        deleted_at = _parse_deleted_at(d.pop("deleted_at"))

        def _parse_output_asset_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                output_asset_id_type_0 = UUID(data)

                return output_asset_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        output_asset_id = _parse_output_asset_id(d.pop("output_asset_id", UNSET))

        project_out = cls(
            id=id,
            title=title,
            description=description,
            status=status,
            config=config,
            preset_id=preset_id,
            story_chars=story_chars,
            scene_count=scene_count,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            deleted_at=deleted_at,
            output_asset_id=output_asset_id,
        )

        project_out.additional_properties = d
        return project_out

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
