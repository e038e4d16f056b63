from enum import StrEnum


class GenerationConfigImageQuality(StrEnum):
    HIGH = "high"
    STANDARD = "standard"

    def __str__(self) -> str:
        return str(self.value)
