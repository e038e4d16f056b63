from enum import StrEnum


class ViewStateState(StrEnum):
    BUILDING = "building"
    LIVE = "live"

    def __str__(self) -> str:
        return str(self.value)
