"""Typed readers for SMARTSITE_* environment variables (secrets may come from *_FILE)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def env(name: str, default: str | None = None) -> str | None:
    """The value of SMARTSITE_<name>, or of the file named by SMARTSITE_<name>_FILE."""
    key = f"SMARTSITE_{name}"
    path = os.environ.get(f"{key}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(key, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return default if value in (None, "") else int(value)


def data_dir() -> Path:
    """Where the embedded database, uploads and the generated secret key live."""
    path = Path(env("DATA_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """SMARTSITE_SECRET_KEY, or a random key generated once and kept in the data directory."""
    configured = env("SECRET_KEY")
    if configured:
        return configured
    path = directory / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


#: Short names for Django's e-mail backends (SMARTSITE_EMAIL_BACKEND); a dotted path also works.
EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "none": "django.core.mail.backends.dummy.EmailBackend",
}


def email_backend() -> str:
    """SMARTSITE_EMAIL_BACKEND as a Django backend path. The default, `file`, writes each
    message into <data dir>/mail/ and sends nothing anywhere."""
    name = (env("EMAIL_BACKEND", "file") or "file").strip()
    if "." in name:
        return name
    if name not in EMAIL_BACKENDS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"SMARTSITE_EMAIL_BACKEND={name!r}: use one of {', '.join(EMAIL_BACKENDS)} "
            "or a dotted path to a Django e-mail backend")
    return EMAIL_BACKENDS[name]


def camera_networks() -> list[str]:
    """SMARTSITE_CAMERA_ALLOWED_NETWORKS as a list of CIDRs (checked now, so a typo stops the
    start with its name instead of silently allowing nothing)."""
    from smartsite.core.netpolicy import parse_networks

    try:
        return [str(net) for net in parse_networks(env("CAMERA_ALLOWED_NETWORKS", ""))]
    except ValueError as exc:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"SMARTSITE_CAMERA_ALLOWED_NETWORKS: {exc}") from None
