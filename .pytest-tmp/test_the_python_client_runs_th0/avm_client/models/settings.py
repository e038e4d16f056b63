from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.settings_language import SettingsLanguage
from ..models.settings_theme import SettingsTheme

if TYPE_CHECKING:
    from ..models.notification_settings import NotificationSettings
    from ..models.privacy_settings import PrivacySettings
    from ..models.settings_generation_defaults import SettingsGenerationDefaults


T = TypeVar("T", bound="Settings")


@_attrs_define
class Settings:
    """
    Attributes:
        language (SettingsLanguage):
        timezone (str):
        theme (SettingsTheme):
        notifications (NotificationSettings):
        privacy (PrivacySettings):
        generation_defaults (SettingsGenerationDefaults):
    """

    language: SettingsLanguage
    timezone: str
    theme: SettingsTheme
    notifications: NotificationSettings
    privacy: PrivacySettings
    generation_defaults: SettingsGenerationDefaults
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        language = self.language.value

        timezone = self.timezone

        theme = self.theme.value

        notifications = self.notifications.to_dict()

        privacy = self.privacy.to_dict()

        generation_defaults = self.generation_defaults.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "language": language,
                "timezone": timezone,
                "theme": theme,
                "notifications": notifications,
                "privacy": privacy,
                "generation_defaults": generation_defaults,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.notification_settings import NotificationSettings
        from ..models.privacy_settings import PrivacySettings
        from ..models.settings_generation_defaults import SettingsGenerationDefaults

        d = dict(src_dict)
        language = SettingsLanguage(d.pop("language"))

        timezone = d.pop("timezone")

        theme = SettingsTheme(d.pop("theme"))

        notifications = NotificationSettings.from_dict(d.pop("notifications"))

        privacy = PrivacySettings.from_dict(d.pop("privacy"))

        generation_defaults = SettingsGenerationDefaults.from_dict(
            d.pop("generation_defaults")
        )

        settings = cls(
            language=language,
            timezone=timezone,
            theme=theme,
            notifications=notifications,
            privacy=privacy,
            generation_defaults=generation_defaults,
        )

        settings.additional_properties = d
        return settings

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
