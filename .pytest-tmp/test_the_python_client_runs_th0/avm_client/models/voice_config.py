from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.voice_config_accent import VoiceConfigAccent
from ..models.voice_config_language import VoiceConfigLanguage
from ..models.voice_config_type import VoiceConfigType
from ..types import UNSET, Unset

T = TypeVar("T", bound="VoiceConfig")


@_attrs_define
class VoiceConfig:
    """
    Attributes:
        type_ (VoiceConfigType | Unset):  Default: VoiceConfigType.NATURAL.
        speed (float | Unset):  Default: 1.0.
        language (VoiceConfigLanguage | Unset):  Default: VoiceConfigLanguage.ZH_TW.
        accent (VoiceConfigAccent | Unset):  Default: VoiceConfigAccent.TAIWAN.
    """

    type_: VoiceConfigType | Unset = VoiceConfigType.NATURAL
    speed: float | Unset = 1.0
    language: VoiceConfigLanguage | Unset = VoiceConfigLanguage.ZH_TW
    accent: VoiceConfigAccent | Unset = VoiceConfigAccent.TAIWAN

    def to_dict(self) -> dict[str, Any]:
        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_.value

        speed = self.speed

        language: str | Unset = UNSET
        if not isinstance(self.language, Unset):
            language = self.language.value

        accent: str | Unset = UNSET
        if not isinstance(self.accent, Unset):
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
        _type_ = d.pop("type", UNSET)
        type_: VoiceConfigType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = VoiceConfigType(_type_)

        speed = d.pop("speed", UNSET)

        _language = d.pop("language", UNSET)
        language: VoiceConfigLanguage | Unset
        if isinstance(_language, Unset):
            language = UNSET
        else:
            language = VoiceConfigLanguage(_language)

        _accent = d.pop("accent", UNSET)
        accent: VoiceConfigAccent | Unset
        if isinstance(_accent, Unset):
            accent = UNSET
        else:
            accent = VoiceConfigAccent(_accent)

        voice_config = cls(
            type_=type_,
            speed=speed,
            language=language,
            accent=accent,
        )

        return voice_config
