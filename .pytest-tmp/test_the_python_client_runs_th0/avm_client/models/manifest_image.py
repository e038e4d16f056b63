from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.manifest_image_metadata import ManifestImageMetadata


T = TypeVar("T", bound="ManifestImage")


@_attrs_define
class ManifestImage:
    """
    Attributes:
        id (UUID):
        uri (str):
        size_bytes (int | None):
        metadata (ManifestImageMetadata):
        checksum (None | str | Unset):
    """

    id: UUID
    uri: str
    size_bytes: int | None
    metadata: ManifestImageMetadata
    checksum: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        uri = self.uri

        size_bytes: int | None
        size_bytes = self.size_bytes

        metadata = self.metadata.to_dict()

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
                "uri": uri,
                "size_bytes": size_bytes,
                "metadata": metadata,
            }
        )
        if checksum is not UNSET:
            field_dict["checksum"] = checksum

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.manifest_image_metadata import ManifestImageMetadata

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        uri = d.pop("uri")

        def _parse_size_bytes(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        size_bytes = _parse_size_bytes(d.pop("size_bytes"))

        metadata = ManifestImageMetadata.from_dict(d.pop("metadata"))

        def _parse_checksum(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        checksum = _parse_checksum(d.pop("checksum", UNSET))

        manifest_image = cls(
            id=id,
            uri=uri,
            size_bytes=size_bytes,
            metadata=metadata,
            checksum=checksum,
        )

        manifest_image.additional_properties = d
        return manifest_image

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
