from enum import StrEnum


class TemplateConfigTransitions(StrEnum):
    FADE = "fade"
    NONE = "none"
    ZOOM = "zoom"

    def __str__(self) -> str:
        return str(self.value)
