from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.project_config_patch import ProjectConfigPatch


T = TypeVar("T", bound="CreatePreset")


@_attrs_define
class CreatePreset:
    """
    Attributes:
        name (str):
        config (ProjectConfigPatch):
        is_default (bool | Unset):  Default: False.
    """

    name: str
    config: ProjectConfigPatch
    is_default: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        config = self.config.to_dict()

        is_default = self.is_default

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "config": config,
            }
        )
        if is_default is not UNSET:
            field_dict["is_default"] = is_default

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.project_config_patch import ProjectConfigPatch

        d = dict(src_dict)
        name = d.pop("name")

        config = ProjectConfigPatch.from_dict(d.pop("config"))

        is_default = d.pop("is_default", UNSET)

        create_preset = cls(
            name=name,
            config=config,
            is_default=is_default,
        )

        return create_preset
