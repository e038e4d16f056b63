from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.template_config_patch_name_type_0 import TemplateConfigPatchNameType0
from ..models.template_config_patch_transitions_type_0 import (
    TemplateConfigPatchTransitionsType0,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="TemplateConfigPatch")


@_attrs_define
class TemplateConfigPatch:
    """
    Attributes:
        name (TemplateConfigPatchNameType0 | Unset):
        transitions (TemplateConfigPatchTransitionsType0 | Unset):
        transition_duration (int | Unset):
        background_music (bool | Unset):
        bgm_volume (int | Unset):
    """

    name: TemplateConfigPatchNameType0 | Unset = UNSET
    transitions: TemplateConfigPatchTransitionsType0 | Unset = UNSET
    transition_duration: int | Unset = UNSET
    background_music: bool | Unset = UNSET
    bgm_volume: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name: str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name.value

        transitions: str | Unset
        if isinstance(self.transitions, Unset):
            transitions = UNSET
        else:
            transitions = self.transitions.value

        transition_duration: int | Unset
        if isinstance(self.transition_duration, Unset):
            transition_duration = UNSET
        else:
            transition_duration = self.transition_duration

        background_music: bool | Unset
        if isinstance(self.background_music, Unset):
            background_music = UNSET
        else:
            background_music = self.background_music

        bgm_volume: int | Unset
        if isinstance(self.bgm_volume, Unset):
            bgm_volume = UNSET
        else:
            bgm_volume = self.bgm_volume

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if transitions is not UNSET:
            field_dict["transitions"] = transitions
        if transition_duration is not UNSET:
            field_dict["transition_duration"] = transition_duration
        if background_music is not UNSET:
            field_dict["background_music"] = background_music
        if bgm_volume is not UNSET:
            field_dict["bgm_volume"] = bgm_volume

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_name(data: object) -> TemplateConfigPatchNameType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            name_type_0 = TemplateConfigPatchNameType0(data)

            return name_type_0

        name = _parse_name(d.pop("name", UNSET))

        def _parse_transitions(
            data: object,
        ) -> TemplateConfigPatchTransitionsType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            transitions_type_0 = TemplateConfigPatchTransitionsType0(data)

            return transitions_type_0

        transitions = _parse_transitions(d.pop("transitions", UNSET))

        def _parse_transition_duration(data: object) -> int | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | Unset, data)

        transition_duration = _parse_transition_duration(
            d.pop("transition_duration", UNSET)
        )

        def _parse_background_music(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        background_music = _parse_background_music(d.pop("background_music", UNSET))

        def _parse_bgm_volume(data: object) -> int | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | Unset, data)

        bgm_volume = _parse_bgm_volume(d.pop("bgm_volume", UNSET))

        template_config_patch = cls(
            name=name,
            transitions=transitions,
            transition_duration=transition_duration,
            background_music=background_music,
            bgm_volume=bgm_volume,
        )

        return template_config_patch
