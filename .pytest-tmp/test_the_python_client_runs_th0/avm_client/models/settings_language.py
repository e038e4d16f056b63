from enum import StrEnum


class SettingsLanguage(StrEnum):
    EN = "en"
    ZH_TW = "zh-TW"

    def __str__(self) -> str:
        return str(self.value)
