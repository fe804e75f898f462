"""Django settings for Thermablate, read from environment variables.

DATABASE_URL          sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/DB
                      (default: SQLite file thermablate.sqlite3 in the data folder)
THERMABLATE_DATA_DIR  folder for the embedded database and generated files (default: ./data)
SECRET_KEY            Django's signing key (default: a random key kept in the data folder)
DEBUG                 true/false (default false)
ALLOWED_HOSTS         comma-separated host names (default: localhost,127.0.0.1,[::1])
SESSION_IDLE_MINUTES  sign a user out after this many idle minutes (default 30)
SESSION_MAX_HOURS     sign a user out this many hours after signing in, active or not (default 12)
THERMABLATE_TRUSTED_PROXIES  comma-separated IP addresses of the reverse proxies whose
                      X-Forwarded-For and X-Forwarded-Proto are believed (default: none)
THERMABLATE_STATIC_ROOT  folder `collectstatic` fills and the application serves static files
                      from (default: `staticfiles` beside the data folder)

Patients' follow-up questionnaires (docs/follow-up-messages.md):
THERMABLATE_PUBLIC_URL  the address patients reach Thermablate at, put in the links of messages
                      and letters, e.g. https://followup.example.nhs.uk (no links are sent without)
EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL,
EMAIL_TIMEOUT_S, DEFAULT_FROM_EMAIL
                      the SMTP server e-mails go through (e-mail is offered only when EMAIL_HOST
                      is set, or EMAIL_BACKEND is Django's console backend, to try it out)
NOTIFY_API_KEY, NOTIFY_SMS_TEMPLATE_ID, NOTIFY_BASE_URL
                      GOV.UK Notify, for text messages (offered only when the key and the
                      template are set); the base URL only to reach another Notify instance
THERMABLATE_SEND_HOURS  the hours messages to patients go out, local time (default 9-20)
THERMABLATE_TEMPLATES_DIR  folders of the site's own message wording (proms/messages/<site code>/)
THERMABLATE_WORDING_DIR, THERMABLATE_WORDING_LANGUAGE
                      the site's licensed questionnaire wording files, and their language
                      (default en-GB); neutral labels without them
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from thermablate.web.env import (
    database_from_url,
    env_bool,
    env_int,
    env_ip_addresses,
    env_list,
    env_path,
)
from thermablate.web.secret_files import read_or_create_secret

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Private to the account the service runs as: it holds the database and the keys.
DATA_DIR = env_path("THERMABLATE_DATA_DIR", Path.cwd() / "data", private=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:

    key = os.environ.get("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    # The embedded deployment keeps a random key beside its database so sessions survive a
    # restart without anyone having to invent a key.
    return read_or_create_secret(DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


SECRET_KEY = _secret_key()


def _field_keys() -> tuple[list[str], str]:
    """Keys for identifiers at rest (see thermablate.registry.fields).

    THERMABLATE_FIELD_KEYS: comma-separated Fernet keys, newest first (older keys still
    decrypt: add a new key in front, run `thermablate rotate_keys`, then drop the old one).
    THERMABLATE_HASH_KEY: the key of the lookup hash (changing it needs `rotate_keys --rehash`).
    The embedded deployment keeps generated keys in the data folder, readable by its owner only;
    a multi-user deployment sets both variables from its secret store, away from the database.
    """
    from cryptography.fernet import Fernet

    raw_keys = os.environ.get("THERMABLATE_FIELD_KEYS")
    if raw_keys:
        keys = [k.strip() for k in raw_keys.split(",") if k.strip()]
        for key in keys:
            try:
                Fernet(key.encode())
            except ValueError:
                raise ImproperlyConfigured(
                    "THERMABLATE_FIELD_KEYS: each key must be a Fernet key (32 url-safe base64 bytes)"
                ) from None
    else:
        stored = read_or_create_secret(
            DATA_DIR / "field_keys", lambda: Fernet.generate_key().decode(), _not_fernet_keys
        )
        keys = stored.split()
    hash_key = os.environ.get("THERMABLATE_HASH_KEY")
    if hash_key is None:
        hash_key = read_or_create_secret(
            DATA_DIR / "hash_key", lambda: secrets.token_urlsafe(32), _short_hash_key
        )
    if len(hash_key) < 32:
        raise ImproperlyConfigured("THERMABLATE_HASH_KEY must be at least 32 characters long")
    return keys, hash_key


def _not_fernet_keys(stored: str) -> str | None:
    from cryptography.fernet import Fernet

    for key in stored.split():
        try:
            Fernet(key.encode())
        except ValueError:
            return "holds something that is not a Fernet key (32 url-safe base64 bytes)"
    return None


def _short_hash_key(stored: str) -> str | None:
    return "holds a key shorter than 32 characters" if len(stored) < 32 else None


FIELD_ENCRYPTION_KEYS, IDENTIFIER_HASH_KEY = _field_keys()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "thermablate.registry",
    "thermablate.guidance",
    "thermablate.plans",
    "thermablate.proms",
    "thermablate.audit",
    "thermablate.web",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",  # serves the API docs' assets itself instead of from a CDN (CSP allows only 'self')
    "axes",
]

MIDDLEWARE = [
    # First: the proxy headers of a request not from a trusted proxy are gone before anything,
    # the HTTPS redirect included, reads them.
    "thermablate.web.middleware.TrustedProxyHeaders",
    # Before WhiteNoise, which answers static files itself: they carry the policy too.
    "thermablate.web.middleware.ContentSecurityPolicy",
    "django.middleware.security.SecurityMiddleware",
    # Directly after SecurityMiddleware, as WhiteNoise's documentation asks.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that writes (sessions, sign-in, audited views), so a write that still
    # finds SQLite locked after the busy timeout answers 503 with Retry-After, not 500.
    "thermablate.web.middleware.DatabaseBusy",
    "thermablate.web.middleware.RejectNulBytes",
    # Django's, answering 503 rather than 400 when saving the session finds SQLite locked.
    "thermablate.web.middleware.SessionSavedOrDatabaseBusy",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "thermablate.web.middleware.AbsoluteSessionLifetime",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "thermablate.web.middleware.LoginRequiredEverywhere",
    "thermablate.web.middleware.TwoFactorWhereRequired",
    # Last, as django-axes asks: it locks out after repeated failed sign-ins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-in while locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Lock a user name from one address after 5 failures for 30 minutes (NCSC password guidance
# recommends throttling over complex rules; 5 attempts is its example of a lockout threshold).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind a reverse proxy every request comes from the proxy's address: lock-outs key on the
# client's address instead, taken from X-Forwarded-For only when a trusted proxy sent it.
AXES_CLIENT_IP_CALLABLE = "thermablate.web.client.client_address"

ROOT_URLCONF = "thermablate.web.urls"
WSGI_APPLICATION = "thermablate.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # A site's own wording of its messages to patients (docs/follow-up-messages.md).
        "DIRS": env_list("THERMABLATE_TEMPLATES_DIR", []),
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "thermablate.web.context.staff_context",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'thermablate.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Write-ahead logging lets pages read while an import writes. With it, NORMAL
    # synchronisation keeps the file consistent; a power cut or OS crash may undo the commits
    # made since the last checkpoint (https://www.sqlite.org/wal.html,
    # https://www.sqlite.org/pragma.html#pragma_synchronous); PostgreSQL is the durable choice.
    # Django 5.1+ runs init_command on every new connection. Beside the busy timeout and
    # IMMEDIATE transactions (thermablate.web.env.database_from_url), a write then waits for
    # the lock instead of failing; thermablate.web.middleware.DatabaseBusy answers what still
    # times out.
    DATABASES["default"]["OPTIONS"]["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (plans) runs as tasks stored in the database: no broker to install. The
# worker is `thermablate worker`, which `make run` starts beside the web server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

OTP_TOTP_ISSUER = "Thermablate"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: an idle timeout
# An absolute limit as well, counted from the sign-in (thermablate.web.middleware), so a
# session kept active, or a stolen cookie kept in use, still ends.
SESSION_MAX_AGE_S = env_int("SESSION_MAX_HOURS", 12, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Served over HTTPS (any deployment but the local demo): secure cookies, HSTS, redirect to HTTPS.
HTTPS = env_bool("THERMABLATE_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0  # one year, as the NHS's own services send
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# The header allows preloading; submitting the domain to browsers' lists stays the trust's act.
SECURE_HSTS_PRELOAD = HTTPS
# The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; from anyone
# else those headers are removed (thermablate.web.middleware.TrustedProxyHeaders).
TRUSTED_PROXIES = env_ip_addresses("THERMABLATE_TRUSTED_PROXIES")
if "THERMABLATE_BEHIND_PROXY" in os.environ:
    # It made Django believe X-Forwarded-Proto from any client: refuse it rather than ignore it.
    raise ImproperlyConfigured(
        "THERMABLATE_BEHIND_PROXY is replaced by THERMABLATE_TRUSTED_PROXIES: set it to the "
        "reverse proxies' IP addresses, comma-separated"
    )
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The Content Security Policy is thermablate.web.middleware.ContentSecurityPolicy.

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Not in the private data folder: the collected files are the release's own public assets,
# rebuilt at every upgrade and nothing to back up; keeping them apart leaves the data folder
# holding only the database and keys. WhiteNoise serves them from the process, so they need
# no web server access either way.
STATIC_ROOT = env_path("THERMABLATE_STATIC_ROOT", DATA_DIR.parent / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Content-hashed names (which browsers may cache for good) and gzip/Brotli copies, written by
    # `thermablate collectstatic`; `thermablate serve` refuses to start without them.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Our assets are for our own pages: no Access-Control-Allow-Origin: * on them.
WHITENOISE_ALLOW_ALL_ORIGINS = False
# Source maps as well as WhiteNoise's already-compressed formats: only a browser's developer
# tools fetch them, and compressing their megabytes would double the time collectstatic takes.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# Patients' follow-up questionnaires (thermablate.proms).
THERMABLATE_PUBLIC_URL = os.environ.get("THERMABLATE_PUBLIC_URL", "").strip()
if THERMABLATE_PUBLIC_URL and not THERMABLATE_PUBLIC_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("THERMABLATE_PUBLIC_URL must start with https:// (or http://).")
# E-mail through any SMTP server; no EMAIL_HOST, no e-mail (the pages say so). For trying
# Thermablate out, EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend prints the
# e-mails (and their links) instead of sending them: `make run` does so.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A server that stops answering must not hold the sender for ever: it fails and is retried.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 30, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "thermablate@localhost")
# Text messages through GOV.UK Notify's official client, with the site's own template.
NOTIFY_API_KEY = os.environ.get("NOTIFY_API_KEY", "")
NOTIFY_SMS_TEMPLATE_ID = os.environ.get("NOTIFY_SMS_TEMPLATE_ID", "")
NOTIFY_BASE_URL = os.environ.get("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
# Messages to patients go out only between these hours, local time (e.g. "9-20").
_hours = os.environ.get("THERMABLATE_SEND_HOURS", "9-20").split("-")
try:
    THERMABLATE_SEND_HOURS = (int(_hours[0]), int(_hours[1]))
except (ValueError, IndexError):
    raise ImproperlyConfigured("THERMABLATE_SEND_HOURS must be two hours, e.g. 9-20.") from None
if len(_hours) != 2 or not 0 <= THERMABLATE_SEND_HOURS[0] < THERMABLATE_SEND_HOURS[1] <= 24:
    raise ImproperlyConfigured("THERMABLATE_SEND_HOURS must be two hours from 0 to 24, e.g. 9-20.")
THERMABLATE_WORDING_DIR = os.environ.get("THERMABLATE_WORDING_DIR", "")
THERMABLATE_WORDING_LANGUAGE = os.environ.get("THERMABLATE_WORDING_LANGUAGE", "en-GB")
