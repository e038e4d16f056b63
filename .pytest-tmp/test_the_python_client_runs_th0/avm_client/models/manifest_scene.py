from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.manifest_image import ManifestImage


T = TypeVar("T", bound="ManifestScene")


@_attrs_define
class ManifestScene:
    """
    Attributes:
        index (int):
        text (str):
        prompt (None | str):
        image_asset (ManifestImage | None):
    """

    index: int
    text: str
    prompt: None | str
    image_asset: ManifestImage | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.manifest_image import ManifestImage

        index = self.index

        text = self.text

        prompt: None | str
        prompt = self.prompt

        image_asset: dict[str, Any] | None
        if isinstance(self.image_asset, ManifestImage):
            image_asset = self.image_asset.to_dict()
        else:
            image_asset = self.image_asset

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "text": text,
                "prompt": prompt,
                "image_asset": image_asset,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.manifest_image import ManifestImage

        d = dict(src_dict)
        index = d.pop("index")

        text = d.pop("text")

        def _parse_prompt(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        prompt = _parse_prompt(d.pop("prompt"))

        def _parse_image_asset(data: object) -> ManifestImage | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                image_asset_type_0 = ManifestImage.from_dict(data)

                return image_asset_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ManifestImage | None, data)

        image_asset = _parse_image_asset(d.pop("image_asset"))

        manifest_scene = cls(
            index=index,
            text=text,
            prompt=prompt,
            image_asset=image_asset,
        )

        manifest_scene.additional_properties = d
        return manifest_scene

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
