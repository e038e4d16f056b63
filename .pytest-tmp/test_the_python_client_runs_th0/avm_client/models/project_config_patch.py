from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.project_config_patch_aspect_ratio_type_0 import (
    ProjectConfigPatchAspectRatioType0,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.generation_config_patch import GenerationConfigPatch
    from ..models.safety_config_patch import SafetyConfigPatch
    from ..models.template_config_patch import TemplateConfigPatch
    from ..models.voice_config_patch import VoiceConfigPatch


T = TypeVar("T", bound="ProjectConfigPatch")


@_attrs_define
class ProjectConfigPatch:
    """
    Attributes:
        aspect_ratio (ProjectConfigPatchAspectRatioType0 | Unset):
        template (TemplateConfigPatch | Unset):
        voice (VoiceConfigPatch | Unset):
        generation (GenerationConfigPatch | Unset):
        safety (SafetyConfigPatch | Unset):
    """

    aspect_ratio: ProjectConfigPatchAspectRatioType0 | Unset = UNSET
    template: TemplateConfigPatch | Unset = UNSET
    voice: VoiceConfigPatch | Unset = UNSET
    generation: GenerationConfigPatch | Unset = UNSET
    safety: SafetyConfigPatch | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        aspect_ratio: str | Unset
        if isinstance(self.aspect_ratio, Unset):
            aspect_ratio = UNSET
        else:
            aspect_ratio = self.aspect_ratio.value

        template: dict[str, Any] | Unset = UNSET
        if not isinstance(self.template, Unset):
            template = self.template.to_dict()

        voice: dict[str, Any] | Unset = UNSET
        if not isinstance(self.voice, Unset):
            voice = self.voice.to_dict()

        generation: dict[str, Any] | Unset = UNSET
        if not isinstance(self.generation, Unset):
            generation = self.generation.to_dict()

        safety: dict[str, Any] | Unset = UNSET
        if not isinstance(self.safety, Unset):
            safety = self.safety.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if aspect_ratio is not UNSET:
            field_dict["aspect_ratio"] = aspect_ratio
        if template is not UNSET:
            field_dict["template"] = template
        if voice is not UNSET:
            field_dict["voice"] = voice
        if generation is not UNSET:
            field_dict["generation"] = generation
        if safety is not UNSET:
            field_dict["safety"] = safety

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.generation_config_patch import GenerationConfigPatch
        from ..models.safety_config_patch import SafetyConfigPatch
        from ..models.template_config_patch import TemplateConfigPatch
        from ..models.voice_config_patch import VoiceConfigPatch

        d = dict(src_dict)

        def _parse_aspect_ratio(
            data: object,
        ) -> ProjectConfigPatchAspectRatioType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            aspect_ratio_type_0 = ProjectConfigPatchAspectRatioType0(data)

            return aspect_ratio_type_0

        aspect_ratio = _parse_aspect_ratio(d.pop("aspect_ratio", UNSET))

        _template = d.pop("template", UNSET)
        template: TemplateConfigPatch | Unset
        if isinstance(_template, Unset):
            template = UNSET
        else:
            template = TemplateConfigPatch.from_dict(_template)

        _voice = d.pop("voice", UNSET)
        voice: VoiceConfigPatch | Unset
        if isinstance(_voice, Unset):
            voice = UNSET
        else:
            voice = VoiceConfigPatch.from_dict(_voice)

        _generation = d.pop("generation", UNSET)
        generation: GenerationConfigPatch | Unset
        if isinstance(_generation, Unset):
            generation = UNSET
        else:
            generation = GenerationConfigPatch.from_dict(_generation)

        _safety = d.pop("safety", UNSET)
        safety: SafetyConfigPatch | Unset
        if isinstance(_safety, Unset):
            safety = UNSET
        else:
            safety = SafetyConfigPatch.from_dict(_safety)

        project_config_patch = cls(
            aspect_ratio=aspect_ratio,
            template=template,
            voice=voice,
            generation=generation,
            safety=safety,
        )

        return project_config_patch
