from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="PrivacySettingsPatch")


@_attrs_define
class PrivacySettingsPatch:
    """
    Attributes:
        analytics (bool | Unset):
        error_reporting (bool | Unset):
    """

    analytics: bool | Unset = UNSET
    error_reporting: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        analytics: bool | Unset
        if isinstance(self.analytics, Unset):
            analytics = UNSET
        else:
            analytics = self.analytics

        error_reporting: bool | Unset
        if isinstance(self.error_reporting, Unset):
            error_reporting = UNSET
        else:
            error_reporting = self.error_reporting

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if analytics is not UNSET:
            field_dict["analytics"] = analytics
        if error_reporting is not UNSET:
            field_dict["error_reporting"] = error_reporting

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_analytics(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        analytics = _parse_analytics(d.pop("analytics", UNSET))

        def _parse_error_reporting(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        error_reporting = _parse_error_reporting(d.pop("error_reporting", UNSET))

        privacy_settings_patch = cls(
            analytics=analytics,
            error_reporting=error_reporting,
        )

        return privacy_settings_patch
