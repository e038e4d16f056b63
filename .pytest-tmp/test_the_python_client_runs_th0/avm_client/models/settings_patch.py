from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.settings_patch_language_type_0 import SettingsPatchLanguageType0
from ..models.settings_patch_theme_type_0 import SettingsPatchThemeType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.notification_settings_patch import NotificationSettingsPatch
    from ..models.privacy_settings_patch import PrivacySettingsPatch
    from ..models.settings_patch_generation_defaults_type_0 import (
        SettingsPatchGenerationDefaultsType0,
    )


T = TypeVar("T", bound="SettingsPatch")


@_attrs_define
class SettingsPatch:
    """
    Attributes:
        language (SettingsPatchLanguageType0 | Unset):
        timezone (str | Unset):
        theme (SettingsPatchThemeType0 | Unset):
        notifications (NotificationSettingsPatch | Unset):
        privacy (PrivacySettingsPatch | Unset):
        generation_defaults (SettingsPatchGenerationDefaultsType0 | Unset): A free-form JSON object: at most 8 levels
            deep, 100 keys or items per object or array, 2000 characters per string or key, integers within
            ±9007199254740991, 16384 bytes encoded; no object with both `_type_` and `_data_` keys.
    """

    language: SettingsPatchLanguageType0 | Unset = UNSET
    timezone: str | Unset = UNSET
    theme: SettingsPatchThemeType0 | Unset = UNSET
    notifications: NotificationSettingsPatch | Unset = UNSET
    privacy: PrivacySettingsPatch | Unset = UNSET
    generation_defaults: SettingsPatchGenerationDefaultsType0 | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        language: str | Unset
        if isinstance(self.language, Unset):
            language = UNSET
        else:
            language = self.language.value

        timezone: str | Unset
        if isinstance(self.timezone, Unset):
            timezone = UNSET
        else:
            timezone = self.timezone

        theme: str | Unset
        if isinstance(self.theme, Unset):
            theme = UNSET
        else:
            theme = self.theme.value

        notifications: dict[str, Any] | Unset = UNSET
        if not isinstance(self.notifications, Unset):
            notifications = self.notifications.to_dict()

        privacy: dict[str, Any] | Unset = UNSET
        if not isinstance(self.privacy, Unset):
            privacy = self.privacy.to_dict()

        generation_defaults: dict[str, Any] | Unset
        if isinstance(self.generation_defaults, Unset):
            generation_defaults = UNSET
        else:
            generation_defaults = self.generation_defaults.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if language is not UNSET:
            field_dict["language"] = language
        if timezone is not UNSET:
            field_dict["timezone"] = timezone
        if theme is not UNSET:
            field_dict["theme"] = theme
        if notifications is not UNSET:
            field_dict["notifications"] = notifications
        if privacy is not UNSET:
            field_dict["privacy"] = privacy
        if generation_defaults is not UNSET:
            field_dict["generation_defaults"] = generation_defaults

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.notification_settings_patch import NotificationSettingsPatch
        from ..models.privacy_settings_patch import PrivacySettingsPatch
        from ..models.settings_patch_generation_defaults_type_0 import (
            SettingsPatchGenerationDefaultsType0,
        )

        d = dict(src_dict)

        def _parse_language(data: object) -> SettingsPatchLanguageType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            language_type_0 = SettingsPatchLanguageType0(data)

            return language_type_0

        language = _parse_language(d.pop("language", UNSET))

        def _parse_timezone(data: object) -> str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(str | Unset, data)

        timezone = _parse_timezone(d.pop("timezone", UNSET))

        def _parse_theme(data: object) -> SettingsPatchThemeType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            theme_type_0 = SettingsPatchThemeType0(data)

            return theme_type_0

        theme = _parse_theme(d.pop("theme", UNSET))

        _notifications = d.pop("notifications", UNSET)
        notifications: NotificationSettingsPatch | Unset
        if isinstance(_notifications, Unset):
            notifications = UNSET
        else:
            notifications = NotificationSettingsPatch.from_dict(_notifications)

        _privacy = d.pop("privacy", UNSET)
        privacy: PrivacySettingsPatch | Unset
        if isinstance(_privacy, Unset):
            privacy = UNSET
        else:
            privacy = PrivacySettingsPatch.from_dict(_privacy)

        def _parse_generation_defaults(
            data: object,
        ) -> SettingsPatchGenerationDefaultsType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, dict):
                raise TypeError()
            generation_defaults_type_0 = SettingsPatchGenerationDefaultsType0.from_dict(
                data
            )

            return generation_defaults_type_0

        generation_defaults = _parse_generation_defaults(
            d.pop("generation_defaults", UNSET)
        )

        settings_patch = cls(
            language=language,
            timezone=timezone,
            theme=theme,
            notifications=notifications,
            privacy=privacy,
            generation_defaults=generation_defaults,
        )

        return settings_patch
