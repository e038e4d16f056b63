from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.generation_config_image_quality import GenerationConfigImageQuality
from ..types import UNSET, Unset

T = TypeVar("T", bound="GenerationConfig")


@_attrs_define
class GenerationConfig:
    """
    Attributes:
        images_per_scene (int | Unset):  Default: 1.
        image_quality (GenerationConfigImageQuality | Unset):  Default: GenerationConfigImageQuality.STANDARD.
        retry_attempts (int | Unset):  Default: 3.
        timeout_seconds (int | Unset):  Default: 300.
        smart_crop (bool | Unset):  Default: True.
    """

    images_per_scene: int | Unset = 1
    image_quality: GenerationConfigImageQuality | Unset = (
        GenerationConfigImageQuality.STANDARD
    )
    retry_attempts: int | Unset = 3
    timeout_seconds: int | Unset = 300
    smart_crop: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        images_per_scene = self.images_per_scene

        image_quality: str | Unset = UNSET
        if not isinstance(self.image_quality, Unset):
            image_quality = self.image_quality.value

        retry_attempts = self.retry_attempts

        timeout_seconds = self.timeout_seconds

        smart_crop = self.smart_crop

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if images_per_scene is not UNSET:
            field_dict["images_per_scene"] = images_per_scene
        if image_quality is not UNSET:
            field_dict["image_quality"] = image_quality
        if retry_attempts is not UNSET:
            field_dict["retry_attempts"] = retry_attempts
        if timeout_seconds is not UNSET:
            field_dict["timeout_seconds"] = timeout_seconds
        if smart_crop is not UNSET:
            field_dict["smart_crop"] = smart_crop

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        images_per_scene = d.pop("images_per_scene", UNSET)

        _image_quality = d.pop("image_quality", UNSET)
        image_quality: GenerationConfigImageQuality | Unset
        if isinstance(_image_quality, Unset):
            image_quality = UNSET
        else:
            image_quality = GenerationConfigImageQuality(_image_quality)

        retry_attempts = d.pop("retry_attempts", UNSET)

        timeout_seconds = d.pop("timeout_seconds", UNSET)

        smart_crop = d.pop("smart_crop", UNSET)

        generation_config = cls(
            images_per_scene=images_per_scene,
            image_quality=image_quality,
            retry_attempts=retry_attempts,
            timeout_seconds=timeout_seconds,
            smart_crop=smart_crop,
        )

        return generation_config
