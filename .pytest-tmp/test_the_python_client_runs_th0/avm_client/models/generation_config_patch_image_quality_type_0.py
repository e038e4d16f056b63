from enum import StrEnum


class GenerationConfigPatchImageQualityType0(StrEnum):
    HIGH = "high"
    STANDARD = "standard"

    def __str__(self) -> str:
        return str(self.value)
