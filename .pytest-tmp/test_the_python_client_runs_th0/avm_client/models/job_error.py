from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.job_error_code import JobErrorCode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_error_details_type_0 import JobErrorDetailsType0


T = TypeVar("T", bound="JobError")


@_attrs_define
class JobError:
    """
    Attributes:
        code (JobErrorCode):
        message (str):
        retryable (bool | Unset):  Default: False.
        details (JobErrorDetailsType0 | None | Unset): A free-form JSON object: at most 8 levels deep, 100 keys or items
            per object or array, 2000 characters per string or key, integers within ±9007199254740991, 16384 bytes encoded;
            no object with both `_type_` and `_data_` keys.
    """

    code: JobErrorCode
    message: str
    retryable: bool | Unset = False
    details: JobErrorDetailsType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error_details_type_0 import JobErrorDetailsType0

        code = self.code.value

        message = self.message

        retryable = self.retryable

        details: dict[str, Any] | None | Unset
        if isinstance(self.details, Unset):
            details = UNSET
        elif isinstance(self.details, JobErrorDetailsType0):
            details = self.details.to_dict()
        else:
            details = self.details

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )
        if retryable is not UNSET:
            field_dict["retryable"] = retryable
        if details is not UNSET:
            field_dict["details"] = details

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_error_details_type_0 import JobErrorDetailsType0

        d = dict(src_dict)
        code = JobErrorCode(d.pop("code"))

        message = d.pop("message")

        retryable = d.pop("retryable", UNSET)

        def _parse_details(data: object) -> JobErrorDetailsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                details_type_0 = JobErrorDetailsType0.from_dict(data)

                return details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobErrorDetailsType0 | None | Unset, data)

        details = _parse_details(d.pop("details", UNSET))

        job_error = cls(
            code=code,
            message=message,
            retryable=retryable,
            details=details,
        )

        return job_error
