from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.job_error import JobError


T = TypeVar("T", bound="FailJob")


@_attrs_define
class FailJob:
    """
    Attributes:
        error (JobError):
    """

    error: JobError

    def to_dict(self) -> dict[str, Any]:
        error = self.error.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_error import JobError

        d = dict(src_dict)
        error = JobError.from_dict(d.pop("error"))

        fail_job = cls(
            error=error,
        )

        return fail_job
