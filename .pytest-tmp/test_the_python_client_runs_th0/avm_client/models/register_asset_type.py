from enum import StrEnum


class RegisterAssetType(StrEnum):
    AUDIO = "audio"
    IMAGE = "image"
    JSON = "json"
    TEXT = "text"
    VIDEO = "video"

    def __str__(self) -> str:
        return str(self.value)
