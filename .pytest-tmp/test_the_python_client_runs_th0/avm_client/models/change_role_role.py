from enum import StrEnum


class ChangeRoleRole(StrEnum):
    ADMIN = "admin"
    PREMIUM = "premium"
    USER = "user"
    WORKER = "worker"

    def __str__(self) -> str:
        return str(self.value)
