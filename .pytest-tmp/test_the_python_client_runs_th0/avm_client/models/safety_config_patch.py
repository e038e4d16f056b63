from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.safety_config_patch_adult_content_type_0 import (
    SafetyConfigPatchAdultContentType0,
)
from ..models.safety_config_patch_content_policy_type_0 import (
    SafetyConfigPatchContentPolicyType0,
)
from ..models.safety_config_patch_error_strategy_type_0 import (
    SafetyConfigPatchErrorStrategyType0,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="SafetyConfigPatch")


@_attrs_define
class SafetyConfigPatch:
    """
    Attributes:
        content_policy (SafetyConfigPatchContentPolicyType0 | Unset):
        blocked_words (list[str] | Unset):
        error_strategy (SafetyConfigPatchErrorStrategyType0 | Unset):
        adult_content (SafetyConfigPatchAdultContentType0 | Unset):
        violence_filter (bool | Unset):
    """

    content_policy: SafetyConfigPatchContentPolicyType0 | Unset = UNSET
    blocked_words: list[str] | Unset = UNSET
    error_strategy: SafetyConfigPatchErrorStrategyType0 | Unset = UNSET
    adult_content: SafetyConfigPatchAdultContentType0 | Unset = UNSET
    violence_filter: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        content_policy: str | Unset
        if isinstance(self.content_policy, Unset):
            content_policy = UNSET
        else:
            content_policy = self.content_policy.value

        blocked_words: list[str] | Unset
        if isinstance(self.blocked_words, Unset):
            blocked_words = UNSET
        else:
            blocked_words = self.blocked_words

        error_strategy: str | Unset
        if isinstance(self.error_strategy, Unset):
            error_strategy = UNSET
        else:
            error_strategy = self.error_strategy.value

        adult_content: str | Unset
        if isinstance(self.adult_content, Unset):
            adult_content = UNSET
        else:
            adult_content = self.adult_content.value

        violence_filter: bool | Unset
        if isinstance(self.violence_filter, Unset):
            violence_filter = UNSET
        else:
            violence_filter = self.violence_filter

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if content_policy is not UNSET:
            field_dict["content_policy"] = content_policy
        if blocked_words is not UNSET:
            field_dict["blocked_words"] = blocked_words
        if error_strategy is not UNSET:
            field_dict["error_strategy"] = error_strategy
        if adult_content is not UNSET:
            field_dict["adult_content"] = adult_content
        if violence_filter is not UNSET:
            field_dict["violence_filter"] = violence_filter

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_content_policy(
            data: object,
        ) -> SafetyConfigPatchContentPolicyType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            content_policy_type_0 = SafetyConfigPatchContentPolicyType0(data)

            return content_policy_type_0

        content_policy = _parse_content_policy(d.pop("content_policy", UNSET))

        def _parse_blocked_words(data: object) -> list[str] | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, list):
                raise TypeError()
            blocked_words_type_0 = cast(list[str], data)

            return blocked_words_type_0

        blocked_words = _parse_blocked_words(d.pop("blocked_words", UNSET))

        def _parse_error_strategy(
            data: object,
        ) -> SafetyConfigPatchErrorStrategyType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            error_strategy_type_0 = SafetyConfigPatchErrorStrategyType0(data)

            return error_strategy_type_0

        error_strategy = _parse_error_strategy(d.pop("error_strategy", UNSET))

        def _parse_adult_content(
            data: object,
        ) -> SafetyConfigPatchAdultContentType0 | Unset:
            if isinstance(data, Unset):
                return data
            if not isinstance(data, str):
                raise TypeError()
            adult_content_type_0 = SafetyConfigPatchAdultContentType0(data)

            return adult_content_type_0

        adult_content = _parse_adult_content(d.pop("adult_content", UNSET))

        def _parse_violence_filter(data: object) -> bool | Unset:
            if isinstance(data, Unset):
                return data
            return cast(bool | Unset, data)

        violence_filter = _parse_violence_filter(d.pop("violence_filter", UNSET))

        safety_config_patch = cls(
            content_policy=content_policy,
            blocked_words=blocked_words,
            error_strategy=error_strategy,
            adult_content=adult_content,
            violence_filter=violence_filter,
        )

        return safety_config_patch
