from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.voice_config_patch_accent_type_0 import VoiceConfigPatchAccentType0
from ..models.voice_config_patch_language_type_0 import VoiceConfigPatchLanguageType0
from ..models.voice_config_patch_type_type_0 import VoiceConfigPatchTypeType0
from ..types import UNSET, Unset

T = TypeVar("T", bound="VoiceConfigPatch")


@_attrs_define
class VoiceConfigPatch:
    """
    Attributes:
        type_ (Unset | VoiceConfigPatchTypeType0):
        speed (float | Unset):
        language (Unset | VoiceConfigPatchLanguageType0):
        accent (Unset | VoiceConfigPatchAccentType0):
    """

    type_: Unset | VoiceConfigPatchTypeType0 = UNSET
    speed: float | Unset = UNSET
    language: Unset | VoiceConfigPatchLanguageType0 = UNSET
    accent: Unset | VoiceConfigPatchAccentType0 = UNSET

    def to_dict(self) -> dict[str, Any]:
        type_: str | Unset
        if isinstance(self.type_, Unset):
            type_ = UNSET
        else:
            type_ = self.type_.value

        speed: float | Unset
        if isinstance(self.speed, Unset):
            speed = UNSET
        else:
            speed = self.speed

        language: str | Unset
        if isinstance(self.language, Unset):
            language = UNSET
        else:
            language = self.language.value

        accent: str | Unset
        if isinstance(self.accent, Unset):
            accent = UNSET
        else:
            accent = self.accent.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if speed is not UNSET:
            field_dict["speed"] = speed
        if language is not UNSET:
            field_dict["language"] = language
        if accent is not UNSET:
            field_dict["accent"] = accent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_type_(data: object) -> Unset | VoiceConfigPatchTypeType0:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            type_type_0 = VoiceConfigPatchTypeType0(data)

            return type_type_0

        type_ = _parse_type_(d.pop("type", UNSET))

        def _parse_speed(data: object) -> float | Unset:
            if isinstance(data, Unset):
                return data
            return cast(float | Unset, data)

        speed = _parse_speed(d.pop("speed", UNSET))

        def _parse_language(data: object) -> Unset | VoiceConfigPatchLanguageType0:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            language_type_0 = VoiceConfigPatchLanguageType0(data)

            return language_type_0

        language = _parse_language(d.pop("language", UNSET))

        def _parse_accent(data: object) -> Unset | VoiceConfigPatchAccentType0:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            accent_type_0 = VoiceConfigPatchAccentType0(data)

            return accent_type_0

        accent = _parse_accent(d.pop("accent", UNSET))

        voice_config_patch = cls(
            type_=type_,
            speed=speed,
            language=language,
            accent=accent,
        )

        return voice_config_patch
