"""Password validators with Chinese messages where Django's own translation has none."""

from __future__ import annotations

from django.contrib.auth import password_validation

__all__ = ["MinimumLengthValidator"]


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's check; its zh-hans catalogue lacks the plural message, so users saw English."""

    def get_error_message(self) -> str:
        return f"密码长度太短，至少需要 {self.min_length} 个字符"

    def get_help_text(self) -> str:
        return f"密码至少需要 {self.min_length} 个字符"
