from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.retry_job_from_step_type_1 import RetryJobFromStepType1
from ..models.retry_job_from_step_type_2_type_1 import RetryJobFromStepType2Type1
from ..models.retry_job_from_step_type_3_type_1 import RetryJobFromStepType3Type1
from ..types import UNSET, Unset

T = TypeVar("T", bound="RetryJob")


@_attrs_define
class RetryJob:
    """
    Attributes:
        from_step (None | RetryJobFromStepType1 | RetryJobFromStepType2Type1 | RetryJobFromStepType3Type1 | Unset):
    """

    from_step: (
        None
        | RetryJobFromStepType1
        | RetryJobFromStepType2Type1
        | RetryJobFromStepType3Type1
        | Unset
    ) = UNSET

    def to_dict(self) -> dict[str, Any]:
        from_step: None | str | Unset
        if isinstance(self.from_step, Unset):
            from_step = UNSET
        elif (
            isinstance(self.from_step, RetryJobFromStepType1)
            or isinstance(self.from_step, RetryJobFromStepType2Type1)
            or isinstance(self.from_step, RetryJobFromStepType3Type1)
        ):
            from_step = self.from_step.value
        else:
            from_step = self.from_step

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if from_step is not UNSET:
            field_dict["from_step"] = from_step

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_from_step(
            data: object,
        ) -> (
            None
            | RetryJobFromStepType1
            | RetryJobFromStepType2Type1
            | RetryJobFromStepType3Type1
            | Unset
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                from_step_type_1 = RetryJobFromStepType1(data)

                return from_step_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                from_step_type_2_type_1 = RetryJobFromStepType2Type1(data)

                return from_step_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                from_step_type_3_type_1 = RetryJobFromStepType3Type1(data)

                return from_step_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                None
                | RetryJobFromStepType1
                | RetryJobFromStepType2Type1
                | RetryJobFromStepType3Type1
                | Unset,
                data,
            )

        from_step = _parse_from_step(d.pop("from_step", UNSET))

        retry_job = cls(
            from_step=from_step,
        )

        return retry_job
