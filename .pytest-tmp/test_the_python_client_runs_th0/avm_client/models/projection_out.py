from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.projection_out_kind import ProjectionOutKind
from ..models.projection_out_state import ProjectionOutState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.last_rebuild_out import LastRebuildOut
    from ..models.rebuild_progress_out import RebuildProgressOut


T = TypeVar("T", bound="ProjectionOut")


@_attrs_define
class ProjectionOut:
    """
    Attributes:
        name (str):
        kind (ProjectionOutKind):
        tables (list[str]):
        position (int):
        lag (int):
        state (ProjectionOutState):
        rebuildable (bool):
        progress (None | RebuildProgressOut | Unset):
        last_rebuild (LastRebuildOut | None | Unset):
    """

    name: str
    kind: ProjectionOutKind
    tables: list[str]
    position: int
    lag: int
    state: ProjectionOutState
    rebuildable: bool
    progress: None | RebuildProgressOut | Unset = UNSET
    last_rebuild: LastRebuildOut | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.last_rebuild_out import LastRebuildOut
        from ..models.rebuild_progress_out import RebuildProgressOut

        name = self.name

        kind = self.kind.value

        tables = self.tables

        position = self.position

        lag = self.lag

        state = self.state.value

        rebuildable = self.rebuildable

        progress: dict[str, Any] | None | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        elif isinstance(self.progress, RebuildProgressOut):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        last_rebuild: dict[str, Any] | None | Unset
        if isinstance(self.last_rebuild, Unset):
            last_rebuild = UNSET
        elif isinstance(self.last_rebuild, LastRebuildOut):
            last_rebuild = self.last_rebuild.to_dict()
        else:
            last_rebuild = self.last_rebuild

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "kind": kind,
                "tables": tables,
                "position": position,
                "lag": lag,
                "state": state,
                "rebuildable": rebuildable,
            }
        )
        if progress is not UNSET:
            field_dict["progress"] = progress
        if last_rebuild is not UNSET:
            field_dict["last_rebuild"] = last_rebuild

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.last_rebuild_out import LastRebuildOut
        from ..models.rebuild_progress_out import RebuildProgressOut

        d = dict(src_dict)
        name = d.pop("name")

        kind = ProjectionOutKind(d.pop("kind"))

        tables = cast(list[str], d.pop("tables"))

        position = d.pop("position")

        lag = d.pop("lag")

        state = ProjectionOutState(d.pop("state"))

        rebuildable = d.pop("rebuildable")

        def _parse_progress(data: object) -> None | RebuildProgressOut | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = RebuildProgressOut.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RebuildProgressOut | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))

        def _parse_last_rebuild(data: object) -> LastRebuildOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_rebuild_type_0 = LastRebuildOut.from_dict(data)

                return last_rebuild_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LastRebuildOut | None | Unset, data)

        last_rebuild = _parse_last_rebuild(d.pop("last_rebuild", UNSET))

        projection_out = cls(
            name=name,
            kind=kind,
            tables=tables,
            position=position,
            lag=lag,
            state=state,
            rebuildable=rebuildable,
            progress=progress,
            last_rebuild=last_rebuild,
        )

        projection_out.additional_properties = d
        return projection_out

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
