"""Camera credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key is SMARTSITE_VIDEO_CREDENTIALS_KEY (one or more Fernet keys, comma-separated, the
first encrypts, any decrypts — for rotation) or, when that is unset, derived from SECRET_KEY.
Changing SECRET_KEY without setting a dedicated key makes stored credentials unreadable: the
camera page then asks for them again (docs/video.md).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]


def _fernet() -> MultiFernet:
    configured = [k.strip() for k in (settings.VIDEO_CREDENTIALS_KEY or "").split(",") if k.strip()]
    if not configured:
        digest = hashlib.sha256(b"smartsite.video.credentials\0" + settings.SECRET_KEY.encode())
        configured = [base64.urlsafe_b64encode(digest.digest()).decode()]
    return MultiFernet([Fernet(k) for k in configured])


def encrypt(plain: str) -> str:
    """A token for `plain` ("" stays "": no credential)."""
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text of `token`; raises InvalidToken when the key no longer fits."""
    return _fernet().decrypt(token.encode()).decode() if token else ""
