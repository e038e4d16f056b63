from enum import StrEnum


class ChangeStatusStatus(StrEnum):
    COMPLETED = "completed"
    DRAFT = "draft"
    FAILED = "failed"
    PROCESSING = "processing"
    READY = "ready"

    def __str__(self) -> str:
        return str(self.value)
