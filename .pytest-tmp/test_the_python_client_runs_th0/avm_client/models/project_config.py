from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.project_config_aspect_ratio import ProjectConfigAspectRatio
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.generation_config import GenerationConfig
    from ..models.safety_config import SafetyConfig
    from ..models.template_config import TemplateConfig
    from ..models.voice_config import VoiceConfig


T = TypeVar("T", bound="ProjectConfig")


@_attrs_define
class ProjectConfig:
    """
    Attributes:
        aspect_ratio (ProjectConfigAspectRatio | Unset):  Default: ProjectConfigAspectRatio.VALUE_0.
        template (TemplateConfig | Unset):
        voice (VoiceConfig | Unset):
        generation (GenerationConfig | Unset):
        safety (SafetyConfig | Unset):
    """

    aspect_ratio: ProjectConfigAspectRatio | Unset = ProjectConfigAspectRatio.VALUE_0
    template: TemplateConfig | Unset = UNSET
    voice: VoiceConfig | Unset = UNSET
    generation: GenerationConfig | Unset = UNSET
    safety: SafetyConfig | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        aspect_ratio: str | Unset = UNSET
        if not isinstance(self.aspect_ratio, Unset):
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
        from ..models.generation_config import GenerationConfig
        from ..models.safety_config import SafetyConfig
        from ..models.template_config import TemplateConfig
        from ..models.voice_config import VoiceConfig

        d = dict(src_dict)
        _aspect_ratio = d.pop("aspect_ratio", UNSET)
        aspect_ratio: ProjectConfigAspectRatio | Unset
        if isinstance(_aspect_ratio, Unset):
            aspect_ratio = UNSET
        else:
            aspect_ratio = ProjectConfigAspectRatio(_aspect_ratio)

        _template = d.pop("template", UNSET)
        template: TemplateConfig | Unset
        if isinstance(_template, Unset):
            template = UNSET
        else:
            template = TemplateConfig.from_dict(_template)

        _voice = d.pop("voice", UNSET)
        voice: VoiceConfig | Unset
        if isinstance(_voice, Unset):
            voice = UNSET
        else:
            voice = VoiceConfig.from_dict(_voice)

        _generation = d.pop("generation", UNSET)
        generation: GenerationConfig | Unset
        if isinstance(_generation, Unset):
            generation = UNSET
        else:
            generation = GenerationConfig.from_dict(_generation)

        _safety = d.pop("safety", UNSET)
        safety: SafetyConfig | Unset
        if isinstance(_safety, Unset):
            safety = UNSET
        else:
            safety = SafetyConfig.from_dict(_safety)

        project_config = cls(
            aspect_ratio=aspect_ratio,
            template=template,
            voice=voice,
            generation=generation,
            safety=safety,
        )

        return project_config
