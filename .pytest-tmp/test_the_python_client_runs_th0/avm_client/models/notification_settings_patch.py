from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="NotificationSettingsPatch")


@_attrs_define
class NotificationSettingsPatch:
    """
    Attributes:
        email (bool | Unset):
        discord (bool | Unset):
        webhook (bool | Unset):
    """

    email: bool | Unset = UNSET
    discord: bool | Unset = UNSET
    webhook: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        email: bool | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        discord: bool | Unset
        if isinstance(self.discord, Unset):
            discord = UNSET
        else:
            discord = self.discord

        webhook: bool | Unset
        if isinstance(self.webhook, Unset):
            webhook = UNSET
        else:
            webhook = self.webhook

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if email is not UNSET:
            field_dict["email"] = email
        if discord is not UNSET:
            field_dict["discord"] = discord
        if webhook is not UNSET:
            field_dict["webhook"] = webhook

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_email(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        email = _parse_email(d.pop("email", UNSET))

        def _parse_discord(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        discord = _parse_discord(d.pop("discord", UNSET))

        def _parse_webhook(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        webhook = _parse_webhook(d.pop("webhook", UNSET))

        notification_settings_patch = cls(
            email=email,
            discord=discord,
            webhook=webhook,
        )

        return notification_settings_patch
