from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SetStory")


@_attrs_define
class SetStory:
    """
    Attributes:
        text (str):
        min_length (int | Unset):  Default: 100.
        max_length (int | Unset):  Default: 280.
    """

    text: str
    min_length: int | Unset = 100
    max_length: int | Unset = 280

    def to_dict(self) -> dict[str, Any]:
        text = self.text

        min_length = self.min_length

        max_length = self.max_length

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "text": text,
            }
        )
        if min_length is not UNSET:
            field_dict["min_length"] = min_length
        if max_length is not UNSET:
            field_dict["max_length"] = max_length

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        text = d.pop("text")

        min_length = d.pop("min_length", UNSET)

        max_length = d.pop("max_length", UNSET)

        set_story = cls(
            text=text,
            min_length=min_length,
            max_length=max_length,
        )

        return set_story
