from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_error_out_code import JobErrorOutCode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_error_out_details_type_0 import JobErrorOutDetailsType0


T = TypeVar("T", bound="JobErrorOut")


@_attrs_define
class JobErrorOut:
    """
    Attributes:
        code (JobErrorOutCode):
        message (str):
        retryable (bool):
        at (datetime.datetime):
        details (JobErrorOutDetailsType0 | None | Unset):
    """

    code: JobErrorOutCode
    message: str
    retryable: bool
    at: datetime.datetime
    details: JobErrorOutDetailsType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error_out_details_type_0 import JobErrorOutDetailsType0

        code = self.code.value

        message = self.message

        retryable = self.retryable

        at = self.at.isoformat()

        details: dict[str, Any] | None | Unset
        if isinstance(self.details, Unset):
            details = UNSET
        elif isinstance(self.details, JobErrorOutDetailsType0):
            details = self.details.to_dict()
        else:
            details = self.details

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
                "retryable": retryable,
                "at": at,
            }
        )
        if details is not UNSET:
            field_dict["details"] = details

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_error_out_details_type_0 import JobErrorOutDetailsType0

        d = dict(src_dict)
        code = JobErrorOutCode(d.pop("code"))

        message = d.pop("message")

        retryable = d.pop("retryable")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        def _parse_details(data: object) -> JobErrorOutDetailsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                details_type_0 = JobErrorOutDetailsType0.from_dict(data)

                return details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobErrorOutDetailsType0 | None | Unset, data)

        details = _parse_details(d.pop("details", UNSET))

        job_error_out = cls(
            code=code,
            message=message,
            retryable=retryable,
            at=at,
            details=details,
        )

        job_error_out.additional_properties = d
        return job_error_out

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
