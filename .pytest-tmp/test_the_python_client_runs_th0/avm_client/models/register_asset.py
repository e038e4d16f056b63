from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..models.register_asset_type import RegisterAssetType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.register_asset_metadata_type_0 import RegisterAssetMetadataType0


T = TypeVar("T", bound="RegisterAsset")


@_attrs_define
class RegisterAsset:
    """
    Attributes:
        type_ (RegisterAssetType):
        uri (str):
        size_bytes (int | None | Unset):
        metadata (None | RegisterAssetMetadataType0 | Unset): A free-form JSON object: at most 8 levels deep, 100 keys
            or items per object or array, 2000 characters per string or key, integers within ±9007199254740991, 16384 bytes
            encoded; no object with both `_type_` and `_data_` keys.
        project_id (None | Unset | UUID):
        job_id (None | Unset | UUID):
        scene_index (int | None | Unset):
        expires_at (datetime.datetime | None | Unset):
    """

    type_: RegisterAssetType
    uri: str
    size_bytes: int | None | Unset = UNSET
    metadata: None | RegisterAssetMetadataType0 | Unset = UNSET
    project_id: None | Unset | UUID = UNSET
    job_id: None | Unset | UUID = UNSET
    scene_index: int | None | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.register_asset_metadata_type_0 import RegisterAssetMetadataType0

        type_ = self.type_.value

        uri = self.uri

        size_bytes: int | None | Unset
        if isinstance(self.size_bytes, Unset):
            size_bytes = UNSET
        else:
            size_bytes = self.size_bytes

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, RegisterAssetMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        project_id: None | str | Unset
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        elif isinstance(self.project_id, UUID):
            project_id = str(self.project_id)
        else:
            project_id = self.project_id

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        elif isinstance(self.job_id, UUID):
            job_id = str(self.job_id)
        else:
            job_id = self.job_id

        scene_index: int | None | Unset
        if isinstance(self.scene_index, Unset):
            scene_index = UNSET
        else:
            scene_index = self.scene_index

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
                "uri": uri,
            }
        )
        if size_bytes is not UNSET:
            field_dict["size_bytes"] = size_bytes
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if scene_index is not UNSET:
            field_dict["scene_index"] = scene_index
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.register_asset_metadata_type_0 import RegisterAssetMetadataType0

        d = dict(src_dict)
        type_ = RegisterAssetType(d.pop("type"))

        uri = d.pop("uri")

        def _parse_size_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        size_bytes = _parse_size_bytes(d.pop("size_bytes", UNSET))

        def _parse_metadata(data: object) -> None | RegisterAssetMetadataType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = RegisterAssetMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RegisterAssetMetadataType0 | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_project_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                project_id_type_0 = UUID(data)

                return project_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))

        def _parse_job_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                job_id_type_0 = UUID(data)

                return job_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_scene_index(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        scene_index = _parse_scene_index(d.pop("scene_index", UNSET))

        def _parse_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        register_asset = cls(
            type_=type_,
            uri=uri,
            size_bytes=size_bytes,
            metadata=metadata,
            project_id=project_id,
            job_id=job_id,
            scene_index=scene_index,
            expires_at=expires_at,
        )

        return register_asset
