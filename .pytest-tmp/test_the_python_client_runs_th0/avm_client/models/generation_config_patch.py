from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.generation_config_patch_image_quality_type_0 import (
    GenerationConfigPatchImageQualityType0,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="GenerationConfigPatch")


@_attrs_define
class GenerationConfigPatch:
    """
    Attributes:
        images_per_scene (int | Unset):
        image_quality (GenerationConfigPatchImageQualityType0 | Unset):
        retry_attempts (int | Unset):
        timeout_seconds (int | Unset):
        smart_crop (bool | Unset):
    """

    images_per_scene: int | Unset = UNSET
    image_quality: GenerationConfigPatchImageQualityType0 | Unset = UNSET
    retry_attempts: int | Unset = UNSET
    timeout_seconds: int | Unset = UNSET
    smart_crop: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        images_per_scene: int | Unset
        if isinstance(self.images_per_scene, Unset):
            images_per_scene = UNSET
        else:
            images_per_scene = self.images_per_scene

        image_quality: str | Unset
        if isinstance(self.image_quality, Unset):
            image_quality = UNSET
        else:
            image_quality = self.image_quality.value

        retry_attempts: int | Unset
        if isinstance(self.retry_attempts, Unset):
            retry_attempts = UNSET
        else:
            retry_attempts = self.retry_attempts

        timeout_seconds: int | Unset
        if isinstance(self.timeout_seconds, Unset):
            timeout_seconds = UNSET
        else:
            timeout_seconds = self.timeout_seconds

        smart_crop: bool | Unset
        if isinstance(self.smart_crop, Unset):
            smart_crop = UNSET
        else:
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

        def _parse_images_per_scene(data: object) -> int | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | Unset, data)

        images_per_scene = _parse_images_per_scene(d.pop("images_per_scene", UNSET))

        def _parse_image_quality(
            data: object,
        ) -> GenerationConfigPatchImageQualityType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            image_quality_type_0 = GenerationConfigPatchImageQualityType0(data)

            return image_quality_type_0

        image_quality = _parse_image_quality(d.pop("image_quality", UNSET))

        def _parse_retry_attempts(data: object) -> int | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | Unset, data)

        retry_attempts = _parse_retry_attempts(d.pop("retry_attempts", UNSET))

        def _parse_timeout_seconds(data: object) -> int | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | Unset, data)

        timeout_seconds = _parse_timeout_seconds(d.pop("timeout_seconds", UNSET))

        def _parse_smart_crop(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        smart_crop = _parse_smart_crop(d.pop("smart_crop", UNSET))

        generation_config_patch = cls(
            images_per_scene=images_per_scene,
            image_quality=image_quality,
            retry_attempts=retry_attempts,
            timeout_seconds=timeout_seconds,
            smart_crop=smart_crop,
        )

        return generation_config_patch
