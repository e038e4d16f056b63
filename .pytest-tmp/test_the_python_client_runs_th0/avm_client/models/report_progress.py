from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..models.report_progress_step import ReportProgressStep
from ..types import UNSET, Unset

T = TypeVar("T", bound="ReportProgress")


@_attrs_define
class ReportProgress:
    """
    Attributes:
        step (ReportProgressStep):
        percentage (float):
        lease_id (None | Unset | UUID): The lease the claim gave (`lease.id`); 409 when it is not the job's current,
            live lease
    """

    step: ReportProgressStep
    percentage: float
    lease_id: None | Unset | UUID = UNSET

    def to_dict(self) -> dict[str, Any]:
        step = self.step.value

        percentage = self.percentage

        lease_id: None | str | Unset
        if isinstance(self.lease_id, Unset):
            lease_id = UNSET
        elif isinstance(self.lease_id, UUID):
            lease_id = str(self.lease_id)
        else:
            lease_id = self.lease_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "step": step,
                "percentage": percentage,
            }
        )
        if lease_id is not UNSET:
            field_dict["lease_id"] = lease_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        step = ReportProgressStep(d.pop("step"))

        percentage = d.pop("percentage")

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

        report_progress = cls(
            step=step,
            percentage=percentage,
            lease_id=lease_id,
        )

        return report_progress
