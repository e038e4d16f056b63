from enum import StrEnum


class VoiceConfigPatchAccentType0(StrEnum):
    HONGKONG = "hongkong"
    MAINLAND = "mainland"
    TAIWAN = "taiwan"

    def __str__(self) -> str:
        return str(self.value)
