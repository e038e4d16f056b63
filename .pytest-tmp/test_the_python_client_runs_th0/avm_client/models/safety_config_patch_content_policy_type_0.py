from enum import StrEnum


class SafetyConfigPatchContentPolicyType0(StrEnum):
    STANDARD = "standard"
    STRICT = "strict"

    def __str__(self) -> str:
        return str(self.value)
