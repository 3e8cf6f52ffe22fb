"""Django settings, read from SMARTSITE_* environment variables (see docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE

from smartsite.conf import (
    camera_networks,
    data_dir,
    email_backend,
    env,
    env_bool,
    env_int,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

SECRET_KEY = secret_key(DATA_DIR)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = (env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver") or "").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in (env("CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "axes",
    "ninja",  # its Swagger UI static files: the API docs load nothing from a CDN (CSP below)
    "smartsite.core",
    "smartsite.exchange",
    "smartsite.workorders",
    "smartsite.dust",
    "smartsite.pits",
    "smartsite.attendance",
    "smartsite.video",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # CONTENT_SECURITY_POLICY below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "smartsite.core.middleware.ErrorPagesMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "smartsite.urls"
WSGI_APPLICATION = "smartsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smartsite.core.context_processors.navigation",
                "smartsite.workorders.context_processors.notifications",
            ],
        },
    },
]

_database_url = env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'smartsite.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and gateway read while one of them writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that is away must fail fast, so the gateway and worker can retry.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "smartsite.core.passwords.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+address after LOGIN_FAILURE_LIMIT failures,
# and an address after LOGIN_FAILURE_LIMIT_PER_ADDRESS failures over any usernames (password
# spraying); smartsite.core.throttling.failure_limit applies the two limits.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 20)
AXES_FAILURE_LIMIT = "smartsite.core.throttling.failure_limit"
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_CLIENT_IP_CALLABLE = "smartsite.core.clientip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = False  # a login clears its own pair only: core.throttling
AXES_VERBOSE = False

# Behind a reverse proxy (docs/operations.md "HTTPS and a reverse proxy"): the client address
# is read from the header the proxy sets only when it is named here; HTTPS-only cookies, HSTS
# and the proxy's scheme header when the site is served over HTTPS.
TRUSTED_PROXY_HEADER = env("TRUSTED_PROXY_HEADER", "") or ""
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
_proxy_ssl_header = (env("PROXY_SSL_HEADER", "") or "").strip()  # e.g. X-Forwarded-Proto
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "smartsite.core.staticfiles.StaticFilesStorage"},  # Brotli 9
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# Uploads: refuse bodies larger than this before reading them (Excel imports, photos).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_MB", 20) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Excel imports: data rows one upload may hold (more are refused with a message to split).
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20_000)

# The notification outbox (webhooks, e-mail), delivered by `smartsite worker`.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 10)
OUTBOX_BACKOFF_SECONDS = env_int("OUTBOX_BACKOFF_SECONDS", 60)
OUTBOX_BACKOFF_MAX_SECONDS = env_int("OUTBOX_BACKOFF_MAX_SECONDS", 3600)
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
OUTBOX_BATCH = env_int("OUTBOX_BATCH", 20)
OUTBOX_CONCURRENCY = env_int("OUTBOX_CONCURRENCY", 4)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)

# E-mail: by default written to files under the data dir, never sent (docs/operations.md).
EMAIL_BACKEND = email_backend()
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_USER", "") or ""
EMAIL_HOST_PASSWORD = env("EMAIL_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10)
DEFAULT_FROM_EMAIL = env("EMAIL_FROM", "smartsite@localhost")

# Monitor data (HJ 212 gateway, `smartsite gateway`; docs/hj212.md, docs/operations.md).
HJ212_HOST = env("HJ212_HOST", "0.0.0.0")
HJ212_PORT = env_int("HJ212_PORT", 2120)
HJ212_PROCESSES = env_int("HJ212_PROCESSES", 1)  # gateway processes sharing the port
HJ212_BATCH = env_int("HJ212_BATCH", 2000)  # packets per database transaction
HJ212_HIGH_WATER = env_int("HJ212_HIGH_WATER", 20_000)  # waiting packets before reading pauses
HJ212_IDLE_SECONDS = env_int("HJ212_IDLE_SECONDS", 900)
HJ212_PARTIAL_SECONDS = env_int("HJ212_PARTIAL_SECONDS", 30)
HJ212_MAX_CONNECTIONS = env_int("HJ212_MAX_CONNECTIONS", 20_000)
HJ212_STATUS_SECONDS = env_int("HJ212_STATUS_SECONDS", 2)
# Parts of a split packet that need each other (no DataTime of their own) wait this long for
# the rest before the set is refused with a reason (docs/hj212.md, "Split packets").
HJ212_SPLIT_SECONDS = env_int("HJ212_SPLIT_SECONDS", 60)
# Wrong PWs (docs/hj212.md, "Wrong passwords"): this many per MN within the window lock the MN
# for HJ212_PW_LOCK_SECONDS (doubling per further lock up to the maximum); a connection is
# closed after HJ212_PW_CONNECTION_FAILURES, a host refused at connect after
# HJ212_PW_PEER_FAILURES within the window.
HJ212_PW_MN_FAILURES = env_int("HJ212_PW_MN_FAILURES", 5)
HJ212_PW_PEER_FAILURES = env_int("HJ212_PW_PEER_FAILURES", 20)
HJ212_PW_CONNECTION_FAILURES = env_int("HJ212_PW_CONNECTION_FAILURES", 3)
HJ212_PW_WINDOW_SECONDS = env_int("HJ212_PW_WINDOW_SECONDS", 600)
HJ212_PW_LOCK_SECONDS = env_int("HJ212_PW_LOCK_SECONDS", 60)
HJ212_PW_MAX_LOCK_SECONDS = env_int("HJ212_PW_MAX_LOCK_SECONDS", 3600)
# A host that showed an MN's right PW within this long is let through that MN's lock.
HJ212_PW_TRUST_SECONDS = env_int("HJ212_PW_TRUST_SECONDS", 86400)
HJ212_PW_SHARED_SECONDS = env_int("HJ212_PW_SHARED_SECONDS", 10)
MQTT_HOST = env("MQTT_HOST", "127.0.0.1")
MQTT_PORT = env_int("MQTT_PORT", 1883)
MQTT_ENABLED = env_bool("MQTT_ENABLED", True)
MQTT_CLIENT_ID = env("MQTT_CLIENT_ID", "smartsite-gateway")  # one persistent session per gateway
# the gateway's own broker account (docs/hj212.md, "Broker accounts"); empty: anonymous
MQTT_USERNAME = env("MQTT_USERNAME", "")
MQTT_PASSWORD = env("MQTT_PASSWORD", "")
MQTT_TOPIC_ROOT = env("MQTT_TOPIC_ROOT", "smartsite")  # <root>/<MN>/data in, <root>/<MN>/ack out
MONITOR_OFFLINE_MINUTES = env_int("MONITOR_OFFLINE_MINUTES", 10)
READING_RETENTION_DAYS = env_int("READING_RETENTION_DAYS", 400)
PERIOD_MEAN_RETENTION_DAYS = env_int("PERIOD_MEAN_RETENTION_DAYS", 3660)
# The jobs this `smartsite worker` runs (core.scheduler, docs/operations.md): names, globs,
# @group, -exclusions; e.g. "*,-dust.rules" on all workers but one. Timers per transaction.
WORKER_JOBS = env("WORKER_JOBS", "*")
WORKER_BATCH = env_int("WORKER_BATCH", 500)

# Video (docs/video.md): ffmpeg for live view, recording and snapshots; ONVIF for PTZ.
VIDEO_FFMPEG = env("VIDEO_FFMPEG", "ffmpeg")  # a name on PATH or a full path
VIDEO_LIVE_IDLE_SECONDS = env_int("VIDEO_LIVE_IDLE_SECONDS", 60)  # stop when nobody watches
VIDEO_LIVE_START_SECONDS = env_int("VIDEO_LIVE_START_SECONDS", 20)  # wait for the first playlist
VIDEO_LIVE_TRANSCODE = env_bool("VIDEO_LIVE_TRANSCODE", False)  # H.265 cameras: re-encode to H.264
VIDEO_HLS_SEGMENT_SECONDS = env_int("VIDEO_HLS_SEGMENT_SECONDS", 2)
VIDEO_RECORD_SEGMENT_SECONDS = env_int("VIDEO_RECORD_SEGMENT_SECONDS", 60)
VIDEO_RECORD_RETENTION_DAYS = env_int("VIDEO_RECORD_RETENTION_DAYS", 30)
VIDEO_PLAYBACK_MAX_HOURS = env_int("VIDEO_PLAYBACK_MAX_HOURS", 24)
VIDEO_RTSP_TIMEOUT_SECONDS = env_int("VIDEO_RTSP_TIMEOUT_SECONDS", 10)
VIDEO_ONVIF_TIMEOUT_SECONDS = env_int("VIDEO_ONVIF_TIMEOUT_SECONDS", 5)
VIDEO_SNAPSHOT_MAX_ATTEMPTS = env_int("VIDEO_SNAPSHOT_MAX_ATTEMPTS", 4)
VIDEO_SNAPSHOT_BACKOFF_SECONDS = env_int("VIDEO_SNAPSHOT_BACKOFF_SECONDS", 30)
VIDEO_CREDENTIALS_KEY = env("VIDEO_CREDENTIALS_KEY", "")  # Fernet key(s); default: from SECRET_KEY
# Cameras may be reached at public addresses only; list the private networks (CIDRs, comma
# separated) that a deployment's cameras live on, e.g. "10.20.0.0/16,192.168.8.0/24".
CAMERA_ALLOWED_NETWORKS = camera_networks()

# Key-post attendance: the identity source (公安人脸库) that enrolment photos are compared with,
# over HTTP (docs/attendance-identity.md). Empty: not configured, enrolments say "无法比对".
IDENTITY_URL = env("IDENTITY_URL", "") or ""
IDENTITY_TOKEN = env("IDENTITY_TOKEN", "") or ""  # sent as "Authorization: Bearer …" if set
IDENTITY_TIMEOUT_SECONDS = env_int("IDENTITY_TIMEOUT_SECONDS", 10)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# ---------------------------------------------------------------- Content-Security-Policy
# (django-csp 4; docs/operations.md "Content-Security-Policy"). Scripts only from our own
# static files: no inline <script>, no on…= handlers, no javascript: URLs, no eval — data
# reach scripts through json_script and data-* attributes. Styles allow inline style
# attributes (colour badges `style="--c:…"`, ECharts' tooltip markup); style elements
# and sheets come from us only. blob: is hls.js (MediaSource, its transmuxing worker).
_CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF, UNSAFE_INLINE],  # browsers without the two below
    "style-src-elem": [SELF],  # style sheets and <style> elements: ours only
    "style-src-attr": [UNSAFE_INLINE],  # style="…" attributes
    "img-src": [SELF, "data:", "blob:"],
    "media-src": [SELF, "blob:"],
    "worker-src": [SELF, "blob:"],
    "connect-src": [SELF],
    "font-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
if env("CSP_REPORT_URI"):  # where browsers POST violation reports, if you collect them
    _CSP_DIRECTIVES["report-uri"] = [env("CSP_REPORT_URI")]
CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}
# ---------------------------------------------------------------- end Content-Security-Policy

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

PAGE_SIZE = 50
