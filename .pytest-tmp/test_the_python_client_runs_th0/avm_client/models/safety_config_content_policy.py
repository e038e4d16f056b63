from enum import StrEnum


class SafetyConfigContentPolicy(StrEnum):
    STANDARD = "standard"
    STRICT = "strict"

    def __str__(self) -> str:
        return str(self.value)
