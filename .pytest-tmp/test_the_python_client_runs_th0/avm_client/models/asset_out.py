from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.asset_out_type import AssetOutType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.asset_out_metadata import AssetOutMetadata


T = TypeVar("T", bound="AssetOut")


@_attrs_define
class AssetOut:
    """
    Attributes:
        id (UUID):
        type_ (AssetOutType):
        uri (str):
        size_bytes (int | None):
        metadata (AssetOutMetadata):
        project_id (None | UUID):
        job_id (None | UUID):
        scene_index (int | None):
        expires_at (datetime.datetime):
        expired_at (datetime.datetime | None):
        version (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        deleted_at (datetime.datetime | None):
        checksum (None | str | Unset):
    """

    id: UUID
    type_: AssetOutType
    uri: str
    size_bytes: int | None
    metadata: AssetOutMetadata
    project_id: None | UUID
    job_id: None | UUID
    scene_index: int | None
    expires_at: datetime.datetime
    expired_at: datetime.datetime | None
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None
    checksum: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        type_ = self.type_.value

        uri = self.uri

        size_bytes: int | None
        size_bytes = self.size_bytes

        metadata = self.metadata.to_dict()

        project_id: None | str
        if isinstance(self.project_id, UUID):
            project_id = str(self.project_id)
        else:
            project_id = self.project_id

        job_id: None | str
        if isinstance(self.job_id, UUID):
            job_id = str(self.job_id)
        else:
            job_id = self.job_id

        scene_index: int | None
        scene_index = self.scene_index

        expires_at = self.expires_at.isoformat()

        expired_at: None | str
        if isinstance(self.expired_at, datetime.datetime):
            expired_at = self.expired_at.isoformat()
        else:
            expired_at = self.expired_at

        version = self.version

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        deleted_at: None | str
        if isinstance(self.deleted_at, datetime.datetime):
            deleted_at = self.deleted_at.isoformat()
        else:
            deleted_at = self.deleted_at

        checksum: None | str | Unset
        if isinstance(self.checksum, Unset):
            checksum = UNSET
        else:
            checksum = self.checksum

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "uri": uri,
                "size_bytes": size_bytes,
                "metadata": metadata,
                "project_id": project_id,
                "job_id": job_id,
                "scene_index": scene_index,
                "expires_at": expires_at,
                "expired_at": expired_at,
                "version": version,
                "created_at": created_at,
                "updated_at": updated_at,
                "deleted_at": deleted_at,
            }
        )
        if checksum is not UNSET:
            field_dict["checksum"] = checksum

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.asset_out_metadata import AssetOutMetadata

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        type_ = AssetOutType(d.pop("type"))

        uri = d.pop("uri")

        def _parse_size_bytes(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        size_bytes = _parse_size_bytes(d.pop("size_bytes"))

        metadata = AssetOutMetadata.from_dict(d.pop("metadata"))

        def _parse_project_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                project_id_type_0 = UUID(data)

                return project_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        project_id = _parse_project_id(d.pop("project_id"))

        def _parse_job_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                job_id_type_0 = UUID(data)

                return job_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        job_id = _parse_job_id(d.pop("job_id"))

        def _parse_scene_index(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        scene_index = _parse_scene_index(d.pop("scene_index"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        def _parse_expired_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expired_at_type_0 = datetime.datetime.fromisoformat(data)

                return expired_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expired_at = _parse_expired_at(d.pop("expired_at"))

        version = d.pop("version")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_deleted_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deleted_at_type_0 = datetime.datetime.fromisoformat(data)

                return deleted_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        deleted_at = _parse_deleted_at(d.pop("deleted_at"))

        def _parse_checksum(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        checksum = _parse_checksum(d.pop("checksum", UNSET))

        asset_out = cls(
            id=id,
            type_=type_,
            uri=uri,
            size_bytes=size_bytes,
            metadata=metadata,
            project_id=project_id,
            job_id=job_id,
            scene_index=scene_index,
            expires_at=expires_at,
            expired_at=expired_at,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            deleted_at=deleted_at,
            checksum=checksum,
        )

        asset_out.additional_properties = d
        return asset_out

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
