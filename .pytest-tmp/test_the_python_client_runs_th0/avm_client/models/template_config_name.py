from enum import StrEnum


class TemplateConfigName(StrEnum):
    CLASSIC = "classic"
    DARK = "dark"
    VIVID = "vivid"

    def __str__(self) -> str:
        return str(self.value)
