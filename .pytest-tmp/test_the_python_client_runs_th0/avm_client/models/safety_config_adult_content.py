from enum import StrEnum


class SafetyConfigAdultContent(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
    WARN = "warn"

    def __str__(self) -> str:
        return str(self.value)
