from enum import StrEnum


class ProjectionOutState(StrEnum):
    BUILDING = "building"
    LIVE = "live"

    def __str__(self) -> str:
        return str(self.value)
