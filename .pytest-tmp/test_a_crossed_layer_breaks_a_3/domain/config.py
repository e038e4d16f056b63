"""Project configuration: its sections, bounds, defaults and merging, and the built-in presets."""
from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from domain.errors import ValidationProblem


class TemplateConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: Literal["classic", "dark", "vivid"] = "classic"
    transitions: Literal["none", "fade", "zoom"] = "fade"
    transition_duration: Annotated[int, msgspec.Meta(ge=100, le=2000)] = 500
    background_music: bool = True
    bgm_volume: Annotated[int, msgspec.Meta(ge=-30, le=0)] = -18


class VoiceConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    type: Literal["male", "female", "natural"] = "natural"
    speed: Annotated[float, msgspec.Meta(ge=0.5, le=2.0)] = 1.0
    language: Literal["zh-TW", "en"] = "zh-TW"
    accent: Literal["taiwan", "mainland", "hongkong"] = "taiwan"


class GenerationConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    images_per_scene: Annotated[int, msgspec.Meta(ge=1, le=3)] = 1
    image_quality: Literal["standard", "high"] = "standard"
    retry_attempts: Annotated[int, msgspec.Meta(ge=1, le=5)] = 3
    timeout_seconds: Annotated[int, msgspec.Meta(ge=60, le=600)] = 300
    smart_crop: bool = True


BlockedWord = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class SafetyConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    content_policy: Literal["strict", "standard"] = "standard"
    blocked_words: Annotated[list[BlockedWord], msgspec.Meta(max_length=100)] = []
    error_strategy: Literal["skip", "mask", "fail"] = "skip"
    adult_content: Literal["block", "warn", "allow"] = "block"
    violence_filter: bool = True


class ProjectConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    aspect_ratio: Literal["9:16", "16:9", "1:1"] = "9:16"
    template: TemplateConfig = msgspec.field(default_factory=TemplateConfig)
    voice: VoiceConfig = msgspec.field(default_factory=VoiceConfig)
    generation: GenerationConfig = msgspec.field(default_factory=GenerationConfig)
    safety: SafetyConfig = msgspec.field(default_factory=SafetyConfig)


SECTIONS = ("template", "voice", "generation", "safety")

RESOLUTIONS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
    "1:1": (1080, 1080),
}

_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")


def default_config() -> dict:
    """Return the configuration a project gets when nothing is said."""
    return msgspec.to_builtins(ProjectConfig())


def validate_config(data: object) -> dict:
    """Return the full configuration, defaults filled in; raise naming the first bad field."""
    try:
        config = msgspec.convert(data, ProjectConfig)
    except msgspec.ValidationError as error:
        detail, field = _describe(str(error), data)
        raise ValidationProblem(detail, field=field) from None
    return msgspec.to_builtins(config)


def merge_config(current: dict, patch: object) -> dict:
    """Apply a patch (top-level values replace, sections merge key by key) and validate the result."""
    if not isinstance(patch, dict):
        raise ValidationProblem("config must be an object", field="config")
    merged = dict(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ValidationProblem(f"config.{key} must be an object", field=f"config.{key}")
            section = merged.get(key)
            merged[key] = {**(section if isinstance(section, dict) else {}), **value}
        else:
            merged[key] = value
    return validate_config(merged)


def _describe(message: str, data: object) -> tuple[str, str]:
    # msgspec puts the location last ("... - at `$.template.bgm_volume`"); the API
    # wants it as a field name and the rest as the readable detail.
    path = ""
    if match := _AT_PATH.search(message):
        path = match["path"]
        message = message[: match.start()]
    # For an unknown key the culprit is the key itself, not the object holding it.
    if match := _UNKNOWN_FIELD.match(message):
        path = f"{path}.{match['name']}"
    # A failed bound says only what was expected; the caller also needs to see
    # which value broke it.
    elif message.startswith("Expected") and ", got " not in message:
        found, value = _value_at(data, path)
        shown = _show(value) if found else None
        if shown is not None:
            message = f"{message}, got `{shown}`"
    return message, f"config{path}"


def _value_at(data: object, path: str) -> tuple[bool, object]:
    for key, index in _PATH_STEP.findall(path):
        if key and isinstance(data, dict) and key in data:
            data = data[key]
        elif index and isinstance(data, list) and int(index) < len(data):
            data = data[int(index)]
        else:
            return False, None
    return True, data


def _show(value: object) -> str | None:
    if isinstance(value, float):
        shown = repr(value)  # JSON would print nan and inf as null
    else:
        try:
            shown = msgspec.json.encode(value).decode()
        except (TypeError, ValueError, OverflowError):
            shown = repr(value)
    return shown if len(shown) <= 60 else None


def _preset(number: int, title: str, is_default: bool, **template: object) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "name": title,
        "config": validate_config({"template": template}),
        "is_default": is_default,
    }


BUILTIN_PRESETS: tuple[dict, ...] = (
    _preset(
        1, "Classic Clean", True,
        name="classic", transitions="fade", transition_duration=500,
        background_music=True, bgm_volume=-18,
    ),
    _preset(
        2, "Dark Glass", False,
        name="dark", transitions="zoom", transition_duration=800,
        background_music=True, bgm_volume=-20,
    ),
    _preset(
        3, "Vivid Gradient", False,
        name="vivid", transitions="fade", transition_duration=600,
        background_music=True, bgm_volume=-16,
    ),
)
