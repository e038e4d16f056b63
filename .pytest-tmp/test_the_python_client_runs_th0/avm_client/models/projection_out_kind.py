from enum import StrEnum


class ProjectionOutKind(StrEnum):
    ASYNC = "async"
    INLINE = "inline"

    def __str__(self) -> str:
        return str(self.value)
