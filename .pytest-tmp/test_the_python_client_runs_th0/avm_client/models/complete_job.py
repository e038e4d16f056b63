from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CompleteJob")


@_attrs_define
class CompleteJob:
    """
    Attributes:
        cost_actual (float | None | Unset):
        lease_id (None | Unset | UUID): The lease the claim gave (`lease.id`); 409 when it is not the job's current,
            live lease
        video_asset_id (None | Unset | UUID): The video this job registered (POST …/outputs); the project then shows it
            as its output
    """

    cost_actual: float | None | Unset = UNSET
    lease_id: None | Unset | UUID = UNSET
    video_asset_id: None | Unset | UUID = UNSET

    def to_dict(self) -> dict[str, Any]:
        cost_actual: float | None | Unset
        if isinstance(self.cost_actual, Unset):
            cost_actual = UNSET
        else:
            cost_actual = self.cost_actual

        lease_id: None | str | Unset
        if isinstance(self.lease_id, Unset):
            lease_id = UNSET
        elif isinstance(self.lease_id, UUID):
            lease_id = str(self.lease_id)
        else:
            lease_id = self.lease_id

        video_asset_id: None | str | Unset
        if isinstance(self.video_asset_id, Unset):
            video_asset_id = UNSET
        elif isinstance(self.video_asset_id, UUID):
            video_asset_id = str(self.video_asset_id)
        else:
            video_asset_id = self.video_asset_id

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if cost_actual is not UNSET:
            field_dict["cost_actual"] = cost_actual
        if lease_id is not UNSET:
            field_dict["lease_id"] = lease_id
        if video_asset_id is not UNSET:
            field_dict["video_asset_id"] = video_asset_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_cost_actual(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        cost_actual = _parse_cost_actual(d.pop("cost_actual", UNSET))

        def _parse_lease_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                lease_id_type_0 = UUID(data)

                return lease_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        lease_id = _parse_lease_id(d.pop("lease_id", UNSET))

        def _parse_video_asset_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                video_asset_id_type_0 = UUID(data)

                return video_asset_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        video_asset_id = _parse_video_asset_id(d.pop("video_asset_id", UNSET))

        complete_job = cls(
            cost_actual=cost_actual,
            lease_id=lease_id,
            video_asset_id=video_asset_id,
        )

        return complete_job
