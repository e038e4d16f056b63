from enum import StrEnum


class VoiceConfigPatchLanguageType0(StrEnum):
    EN = "en"
    ZH_TW = "zh-TW"

    def __str__(self) -> str:
        return str(self.value)
