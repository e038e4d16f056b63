from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdateScene")


@_attrs_define
class UpdateScene:
    """
    Attributes:
        index (int):
        op (Literal['update']):
        text (None | str | Unset):
        prompt (None | str | Unset):
    """

    index: int
    op: Literal["update"]
    text: None | str | Unset = UNSET
    prompt: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        op = self.op

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        prompt: None | str | Unset
        if isinstance(self.prompt, Unset):
            prompt = UNSET
        else:
            prompt = self.prompt

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "index": index,
                "op": op,
            }
        )
        if text is not UNSET:
            field_dict["text"] = text
        if prompt is not UNSET:
            field_dict["prompt"] = prompt

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        index = d.pop("index")

        op = cast(Literal["update"], d.pop("op"))
        if op != "update":
            raise ValueError(f"op must match const 'update', got '{op}'")

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        def _parse_prompt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prompt = _parse_prompt(d.pop("prompt", UNSET))

        update_scene = cls(
            index=index,
            op=op,
            text=text,
            prompt=prompt,
        )

        return update_scene
