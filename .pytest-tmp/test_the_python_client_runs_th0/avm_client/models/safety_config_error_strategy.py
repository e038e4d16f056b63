from enum import StrEnum


class SafetyConfigErrorStrategy(StrEnum):
    FAIL = "fail"
    MASK = "mask"
    SKIP = "skip"

    def __str__(self) -> str:
        return str(self.value)
