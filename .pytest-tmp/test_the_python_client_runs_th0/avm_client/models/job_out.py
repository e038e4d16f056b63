from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_out_from_step import JobOutFromStep
from ..models.job_out_status import JobOutStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.estimate_out import EstimateOut
    from ..models.job_error_out import JobErrorOut
    from ..models.job_progress import JobProgress
    from ..models.project_config import ProjectConfig


T = TypeVar("T", bound="JobOut")


@_attrs_define
class JobOut:
    """
    Attributes:
        id (UUID):
        project_id (UUID):
        status (JobOutStatus):
        priority (int):
        config (ProjectConfig):
        estimate (EstimateOut):
        cost_actual (float | None):
        attempts (int):
        max_attempts (int):
        from_step (JobOutFromStep):
        progress (JobProgress):
        error (JobErrorOut | None):
        timeout_seconds (int):
        queued_at (datetime.datetime):
        available_at (datetime.datetime):
        started_at (datetime.datetime | None):
        heartbeat_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        version (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        video_asset_id (None | Unset | UUID):
    """

    id: UUID
    project_id: UUID
    status: JobOutStatus
    priority: int
    config: ProjectConfig
    estimate: EstimateOut
    cost_actual: float | None
    attempts: int
    max_attempts: int
    from_step: JobOutFromStep
    progress: JobProgress
    error: JobErrorOut | None
    timeout_seconds: int
    queued_at: datetime.datetime
    available_at: datetime.datetime
    started_at: datetime.datetime | None
    heartbeat_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    video_asset_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error_out import JobErrorOut

        id = str(self.id)

        project_id = str(self.project_id)

        status = self.status.value

        priority = self.priority

        config = self.config.to_dict()

        estimate = self.estimate.to_dict()

        cost_actual: float | None
        cost_actual = self.cost_actual

        attempts = self.attempts

        max_attempts = self.max_attempts

        from_step = self.from_step.value

        progress = self.progress.to_dict()

        error: dict[str, Any] | None
        if isinstance(self.error, JobErrorOut):
            error = self.error.to_dict()
        else:
            error = self.error

        timeout_seconds = self.timeout_seconds

        queued_at = self.queued_at.isoformat()

        available_at = self.available_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        heartbeat_at: None | str
        if isinstance(self.heartbeat_at, datetime.datetime):
            heartbeat_at = self.heartbeat_at.isoformat()
        else:
            heartbeat_at = self.heartbeat_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        version = self.version

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        video_asset_id: None | str | Unset
        if isinstance(self.video_asset_id, Unset):
            video_asset_id = UNSET
        elif isinstance(self.video_asset_id, UUID):
            video_asset_id = str(self.video_asset_id)
        else:
            video_asset_id = self.video_asset_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "project_id": project_id,
                "status": status,
                "priority": priority,
                "config": config,
                "estimate": estimate,
                "cost_actual": cost_actual,
                "attempts": attempts,
                "max_attempts": max_attempts,
                "from_step": from_step,
                "progress": progress,
                "error": error,
                "timeout_seconds": timeout_seconds,
                "queued_at": queued_at,
                "available_at": available_at,
                "started_at": started_at,
                "heartbeat_at": heartbeat_at,
                "finished_at": finished_at,
                "version": version,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if video_asset_id is not UNSET:
            field_dict["video_asset_id"] = video_asset_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate_out import EstimateOut
        from ..models.job_error_out import JobErrorOut
        from ..models.job_progress import JobProgress
        from ..models.project_config import ProjectConfig

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        project_id = UUID(d.pop("project_id"))

        status = JobOutStatus(d.pop("status"))

        priority = d.pop("priority")

        config = ProjectConfig.from_dict(d.pop("config"))

        estimate = EstimateOut.from_dict(d.pop("estimate"))

        def _parse_cost_actual(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        cost_actual = _parse_cost_actual(d.pop("cost_actual"))

        attempts = d.pop("attempts")

        max_attempts = d.pop("max_attempts")

        from_step = JobOutFromStep(d.pop("from_step"))

        progress = JobProgress.from_dict(d.pop("progress"))

        def _parse_error(data: object) -> JobErrorOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobErrorOut.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobErrorOut | None, data)

        error = _parse_error(d.pop("error"))

        timeout_seconds = d.pop("timeout_seconds")

        queued_at = datetime.datetime.fromisoformat(d.pop("queued_at"))

        available_at = datetime.datetime.fromisoformat(d.pop("available_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_heartbeat_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                heartbeat_at_type_0 = datetime.datetime.fromisoformat(data)

                return heartbeat_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        heartbeat_at = _parse_heartbeat_at(d.pop("heartbeat_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        version = d.pop("version")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

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

        job_out = cls(
            id=id,
            project_id=project_id,
            status=status,
            priority=priority,
            config=config,
            estimate=estimate,
            cost_actual=cost_actual,
            attempts=attempts,
            max_attempts=max_attempts,
            from_step=from_step,
            progress=progress,
            error=error,
            timeout_seconds=timeout_seconds,
            queued_at=queued_at,
            available_at=available_at,
            started_at=started_at,
            heartbeat_at=heartbeat_at,
            finished_at=finished_at,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            video_asset_id=video_asset_id,
        )

        job_out.additional_properties = d
        return job_out

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
