from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SceneOut")


@_attrs_define
class SceneOut:
    """
    Attributes:
        index (int):
        text (str):
        prompt (None | str):
        image_asset_id (None | UUID):
    """

    index: int
    text: str
    prompt: None | str
    image_asset_id: None | UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        text = self.text

        prompt: None | str
        prompt = self.prompt

        image_asset_id: None | str
        if isinstance(self.image_asset_id, UUID):
            image_asset_id = str(self.image_asset_id)
        else:
            image_asset_id = self.image_asset_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "text": text,
                "prompt": prompt,
                "image_asset_id": image_asset_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        index = d.pop("index")

        text = d.pop("text")

        def _parse_prompt(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        prompt = _parse_prompt(d.pop("prompt"))

        def _parse_image_asset_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                image_asset_id_type_0 = UUID(data)

                return image_asset_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        image_asset_id = _parse_image_asset_id(d.pop("image_asset_id"))

        scene_out = cls(
            index=index,
            text=text,
            prompt=prompt,
            image_asset_id=image_asset_id,
        )

        scene_out.additional_properties = d
        return scene_out

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
