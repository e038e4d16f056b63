from enum import StrEnum


class VoiceConfigType(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NATURAL = "natural"

    def __str__(self) -> str:
        return str(self.value)
