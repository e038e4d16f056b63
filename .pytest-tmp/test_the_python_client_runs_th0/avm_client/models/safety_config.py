from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.safety_config_adult_content import SafetyConfigAdultContent
from ..models.safety_config_content_policy import SafetyConfigContentPolicy
from ..models.safety_config_error_strategy import SafetyConfigErrorStrategy
from ..types import UNSET, Unset

T = TypeVar("T", bound="SafetyConfig")


@_attrs_define
class SafetyConfig:
    """
    Attributes:
        content_policy (SafetyConfigContentPolicy | Unset):  Default: SafetyConfigContentPolicy.STANDARD.
        blocked_words (list[str] | Unset):
        error_strategy (SafetyConfigErrorStrategy | Unset):  Default: SafetyConfigErrorStrategy.SKIP.
        adult_content (SafetyConfigAdultContent | Unset):  Default: SafetyConfigAdultContent.BLOCK.
        violence_filter (bool | Unset):  Default: True.
    """

    content_policy: SafetyConfigContentPolicy | Unset = (
        SafetyConfigContentPolicy.STANDARD
    )
    blocked_words: list[str] | Unset = UNSET
    error_strategy: SafetyConfigErrorStrategy | Unset = SafetyConfigErrorStrategy.SKIP
    adult_content: SafetyConfigAdultContent | Unset = SafetyConfigAdultContent.BLOCK
    violence_filter: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        content_policy: str | Unset = UNSET
        if not isinstance(self.content_policy, Unset):
            content_policy = self.content_policy.value

        blocked_words: list[str] | Unset = UNSET
        if not isinstance(self.blocked_words, Unset):
            blocked_words = self.blocked_words

        error_strategy: str | Unset = UNSET
        if not isinstance(self.error_strategy, Unset):
            error_strategy = self.error_strategy.value

        adult_content: str | Unset = UNSET
        if not isinstance(self.adult_content, Unset):
            adult_content = self.adult_content.value

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
        _content_policy = d.pop("content_policy", UNSET)
        content_policy: SafetyConfigContentPolicy | Unset
        if isinstance(_content_policy, Unset):
            content_policy = UNSET
        else:
            content_policy = SafetyConfigContentPolicy(_content_policy)

        blocked_words = cast(list[str], d.pop("blocked_words", UNSET))

        _error_strategy = d.pop("error_strategy", UNSET)
        error_strategy: SafetyConfigErrorStrategy | Unset
        if isinstance(_error_strategy, Unset):
            error_strategy = UNSET
        else:
            error_strategy = SafetyConfigErrorStrategy(_error_strategy)

        _adult_content = d.pop("adult_content", UNSET)
        adult_content: SafetyConfigAdultContent | Unset
        if isinstance(_adult_content, Unset):
            adult_content = UNSET
        else:
            adult_content = SafetyConfigAdultContent(_adult_content)

        violence_filter = d.pop("violence_filter", UNSET)

        safety_config = cls(
            content_policy=content_policy,
            blocked_words=blocked_words,
            error_strategy=error_strategy,
            adult_content=adult_content,
            violence_filter=violence_filter,
        )

        return safety_config
