from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_progress_completed_steps_item import JobProgressCompletedStepsItem
from ..models.job_progress_step_type_1 import JobProgressStepType1
from ..models.job_progress_step_type_2_type_1 import JobProgressStepType2Type1
from ..models.job_progress_step_type_3_type_1 import JobProgressStepType3Type1

T = TypeVar("T", bound="JobProgress")


@_attrs_define
class JobProgress:
    """
    Attributes:
        step (JobProgressStepType1 | JobProgressStepType2Type1 | JobProgressStepType3Type1 | None):
        completed_steps (list[JobProgressCompletedStepsItem]):
        percentage (float):
    """

    step: (
        JobProgressStepType1
        | JobProgressStepType2Type1
        | JobProgressStepType3Type1
        | None
    )
    completed_steps: list[JobProgressCompletedStepsItem]
    percentage: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        step: None | str
        if (
            isinstance(self.step, JobProgressStepType1)
            or isinstance(self.step, JobProgressStepType2Type1)
            or isinstance(self.step, JobProgressStepType3Type1)
        ):
            step = self.step.value
        else:
            step = self.step

        completed_steps = []
        for completed_steps_item_data in self.completed_steps:
            completed_steps_item = completed_steps_item_data.value
            completed_steps.append(completed_steps_item)

        percentage = self.percentage

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "step": step,
                "completed_steps": completed_steps,
                "percentage": percentage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_step(
            data: object,
        ) -> (
            JobProgressStepType1
            | JobProgressStepType2Type1
            | JobProgressStepType3Type1
            | None
        ):
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                step_type_1 = JobProgressStepType1(data)

                return step_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                step_type_2_type_1 = JobProgressStepType2Type1(data)

                return step_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                step_type_3_type_1 = JobProgressStepType3Type1(data)

                return step_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                JobProgressStepType1
                | JobProgressStepType2Type1
                | JobProgressStepType3Type1
                | None,
                data,
            )

        step = _parse_step(d.pop("step"))

        completed_steps = []
        _completed_steps = d.pop("completed_steps")
        for completed_steps_item_data in _completed_steps:
            completed_steps_item = JobProgressCompletedStepsItem(
                completed_steps_item_data
            )

            completed_steps.append(completed_steps_item)

        percentage = d.pop("percentage")

        job_progress = cls(
            step=step,
            completed_steps=completed_steps,
            percentage=percentage,
        )

        job_progress.additional_properties = d
        return job_progress

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
