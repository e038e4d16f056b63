from enum import StrEnum


class JobErrorCode(StrEnum):
    CONTENT_POLICY = "CONTENT_POLICY"
    INTERNAL = "INTERNAL"
    QUOTA = "QUOTA"
    RATE_LIMIT = "RATE_LIMIT"
    SERVICE_ERROR = "SERVICE_ERROR"
    TIMEOUT = "TIMEOUT"
    VALIDATION = "VALIDATION"

    def __str__(self) -> str:
        return str(self.value)
