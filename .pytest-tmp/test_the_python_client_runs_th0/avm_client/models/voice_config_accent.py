from enum import StrEnum


class VoiceConfigAccent(StrEnum):
    HONGKONG = "hongkong"
    MAINLAND = "mainland"
    TAIWAN = "taiwan"

    def __str__(self) -> str:
        return str(self.value)
