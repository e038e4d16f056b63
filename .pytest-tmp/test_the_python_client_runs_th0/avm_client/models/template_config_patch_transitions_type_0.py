from enum import StrEnum


class TemplateConfigPatchTransitionsType0(StrEnum):
    FADE = "fade"
    NONE = "none"
    ZOOM = "zoom"

    def __str__(self) -> str:
        return str(self.value)
