from enum import StrEnum


class ProjectConfigPatchAspectRatioType0(StrEnum):
    VALUE_0 = "9:16"
    VALUE_1 = "16:9"
    VALUE_2 = "1:1"

    def __str__(self) -> str:
        return str(self.value)
