"""Typed readers for settings that come from environment variables.

A wrong value stops start-up with ``ImproperlyConfigured`` naming the variable, so a
misconfigured deployment fails loudly instead of running with a surprise default.
"""

import ipaddress
import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def canonical_ip_address(text: str) -> str:
    """One spelling per address ('2001:DB8::1' -> '2001:db8::1', '::ffff:10.0.0.1' ->
    '10.0.0.1'), so addresses compare equal however a proxy or the server writes them.
    Raises ValueError if ``text`` is not an IP address."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def env_ip_addresses(name: str) -> frozenset[str]:
    """A comma-separated list of IP addresses (empty or unset: none). Host names and networks
    are refused: a proxy is trusted by the exact address its requests come from."""
    addresses = set()
    for item in os.environ.get(name, "").split(","):
        if not item.strip():
            continue
        try:
            addresses.add(canonical_ip_address(item))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item.strip()!r} is not an IP address (list the proxies' addresses, "
                "comma-separated)"
            ) from None
    return frozenset(addresses)


def env_path(name: str, default: Path, *, private: bool = False) -> Path:
    """A folder, created if missing. ``private``: readable by its owner only (0700), an
    existing folder open to others included, since it holds the database and the keys."""
    raw = os.environ.get(name)
    path = Path(raw).expanduser() if raw else default
    try:
        path.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot create data folder {path}: {exc}") from None
    if private and stat.S_IMODE(path.stat().st_mode) & 0o077:
        try:
            path.chmod(0o700)
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}: the data folder {path} is open to other users and cannot be made "
                f"private ({exc}); run: chmod 700 {path}"
            ) from None
    return path.resolve()


class OwnerOnlySQLiteConnection(sqlite3.Connection):
    """An SQLite connection whose database file only its owner can read or write (0600).

    The file is created 0600 before SQLite opens it, rather than tightened after: a process
    that opened a 0644 file in between would keep reading it whatever its mode became. An
    existing file open to others is tightened. SQLite gives its journal, write-ahead log and
    shared-memory files the database file's mode, so they follow. In-memory databases and
    ``file:`` URIs (the test database) are left alone.
    """

    def __init__(self, database, *args, **kwargs):
        _make_owner_only(database)
        super().__init__(database, *args, **kwargs)


def _make_owner_only(database) -> None:
    name = os.fspath(database) if isinstance(database, str | os.PathLike) else ""
    if name in {"", ":memory:"} or name.startswith("file:"):
        return
    try:
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(name).st_mode)
        if mode & 0o077:
            os.chmod(name, mode & 0o700)
    except FileNotFoundError:
        return  # no such folder: SQLite says so itself when it opens the file


def database_from_url(url: str, *, name: str = "DATABASE_URL") -> dict:
    """Turn ``sqlite:///path`` or ``postgresql://user:pass@host:port/db?opt=...`` into a Django
    DATABASES entry."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy writes them.
        path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
        if not path:
            raise ImproperlyConfigured(f"{name}={url!r}: a SQLite URL needs a file path")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            # Wait for a writer instead of failing at once under concurrent requests.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "factory": OwnerOnlySQLiteConnection,
            },
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        db_name = unquote(parsed.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(f"{name}={url!r}: a PostgreSQL URL needs a database name")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": dict(parse_qsl(parsed.query)),
            "CONN_MAX_AGE": 60,
        }
    raise ImproperlyConfigured(
        f"{name}={url!r}: unsupported database; use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
