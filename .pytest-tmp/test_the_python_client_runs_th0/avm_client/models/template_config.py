from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.template_config_name import TemplateConfigName
from ..models.template_config_transitions import TemplateConfigTransitions
from ..types import UNSET, Unset

T = TypeVar("T", bound="TemplateConfig")


@_attrs_define
class TemplateConfig:
    """
    Attributes:
        name (TemplateConfigName | Unset):  Default: TemplateConfigName.CLASSIC.
        transitions (TemplateConfigTransitions | Unset):  Default: TemplateConfigTransitions.FADE.
        transition_duration (int | Unset):  Default: 500.
        background_music (bool | Unset):  Default: True.
        bgm_volume (int | Unset):  Default: -18.
    """

    name: TemplateConfigName | Unset = TemplateConfigName.CLASSIC
    transitions: TemplateConfigTransitions | Unset = TemplateConfigTransitions.FADE
    transition_duration: int | Unset = 500
    background_music: bool | Unset = True
    bgm_volume: int | Unset = -18

    def to_dict(self) -> dict[str, Any]:
        name: str | Unset = UNSET
        if not isinstance(self.name, Unset):
            name = self.name.value

        transitions: str | Unset = UNSET
        if not isinstance(self.transitions, Unset):
            transitions = self.transitions.value

        transition_duration = self.transition_duration

        background_music = self.background_music

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
        _name = d.pop("name", UNSET)
        name: TemplateConfigName | Unset
        if isinstance(_name, Unset):
            name = UNSET
        else:
            name = TemplateConfigName(_name)

        _transitions = d.pop("transitions", UNSET)
        transitions: TemplateConfigTransitions | Unset
        if isinstance(_transitions, Unset):
            transitions = UNSET
        else:
            transitions = TemplateConfigTransitions(_transitions)

        transition_duration = d.pop("transition_duration", UNSET)

        background_music = d.pop("background_music", UNSET)

        bgm_volume = d.pop("bgm_volume", UNSET)

        template_config = cls(
            name=name,
            transitions=transitions,
            transition_duration=transition_duration,
            background_music=background_music,
            bgm_volume=bgm_volume,
        )

        return template_config
