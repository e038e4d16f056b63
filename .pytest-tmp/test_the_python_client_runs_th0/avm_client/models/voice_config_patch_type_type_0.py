from enum import StrEnum


class VoiceConfigPatchTypeType0(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NATURAL = "natural"

    def __str__(self) -> str:
        return str(self.value)
