from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.report_progress_step import ReportProgressStep

T = TypeVar("T", bound="ReportProgress")


@_attrs_define
class ReportProgress:
    """
    Attributes:
        step (ReportProgressStep):
        percentage (float):
    """

    step: ReportProgressStep
    percentage: float

    def to_dict(self) -> dict[str, Any]:
        step = self.step.value

        percentage = self.percentage

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "step": step,
                "percentage": percentage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        step = ReportProgressStep(d.pop("step"))

        percentage = d.pop("percentage")

        report_progress = cls(
            step=step,
            percentage=percentage,
        )

        return report_progress
