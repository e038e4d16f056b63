from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.project_config_patch import ProjectConfigPatch


T = TypeVar("T", bound="QueueJob")


@_attrs_define
class QueueJob:
    """
    Attributes:
        config (None | ProjectConfigPatch | Unset):
    """

    config: None | ProjectConfigPatch | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.project_config_patch import ProjectConfigPatch

        config: dict[str, Any] | None | Unset
        if isinstance(self.config, Unset):
            config = UNSET
        elif isinstance(self.config, ProjectConfigPatch):
            config = self.config.to_dict()
        else:
            config = self.config

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if config is not UNSET:
            field_dict["config"] = config

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.project_config_patch import ProjectConfigPatch

        d = dict(src_dict)

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

        queue_job = cls(
            config=config,
        )

        return queue_job
