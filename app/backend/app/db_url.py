"""DATABASE_URL handling, shared by the backend and the MCP server.

The file exists twice, app/backend/app/db_url.py and app/mcp/todo_mcp/db.py, so
each image stays self-contained; a backend test keeps the two copies identical.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# asyncpg spells TLS `ssl=...`, libpq (and so psycopg) spells it `sslmode=...`.
_ASYNCPG_SSL_TO_SSLMODE = {
    "true": "require",
    "false": "disable",
    "disable": "disable",
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify_ca": "verify-ca",
    "verify-full": "verify-full",
    "verify_full": "verify-full",
}

_POSTGRES_SCHEMES = {
    "postgres",
    "postgresql",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "postgresql+asyncpg",
}


def normalize_database_url(url: str | None, default_sqlite_path: str) -> str:
    """Turn whatever a user or operator put in DATABASE_URL into a SQLAlchemy URL.

    Unset or empty means SQLite at ``default_sqlite_path``. Every PostgreSQL spelling
    ends up on the psycopg (v3) driver, with asyncpg's ``ssl=`` turned into ``sslmode=``.
    """
    if url is None or not url.strip():
        return f"sqlite:///{default_sqlite_path}"
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite" or scheme.startswith("sqlite+"):
        return url
    if scheme not in _POSTGRES_SCHEMES:
        raise ValueError(
            f"DATABASE_URL has unsupported scheme {parts.scheme!r}: "
            "use postgresql://user:password@host:5432/dbname (or leave it unset for SQLite)"
        )
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "ssl":
            mode = _ASYNCPG_SSL_TO_SSLMODE.get(value.lower())
            if mode is None:
                raise ValueError(f"DATABASE_URL has unsupported ssl={value!r}: use sslmode=require or similar")
            query.append(("sslmode", mode))
        else:
            query.append((key, value))
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, urlencode(query), parts.fragment))


def database_url_from_env(app_name: str, env: Mapping[str, str] | None = None) -> str:
    """Read DATABASE_URL (or SQLITE_PATH for the SQLite fallback) from the environment."""
    env = os.environ if env is None else env
    sqlite_path = env.get("SQLITE_PATH") or f"/tmp/todo-{app_name}.db"
    return normalize_database_url(env.get("DATABASE_URL"), sqlite_path)


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
