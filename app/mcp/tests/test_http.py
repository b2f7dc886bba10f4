"""Health endpoints, configuration and the process entry point."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import free_port, serve
from todo_mcp.db import normalize_database_url, redact
from todo_mcp.server import build_server
from todo_mcp.store import TaskStore

APP_DIR = Path(__file__).resolve().parents[1]


def test_health_and_ready(base_url):
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{base_url}/ready").json() == {"status": "ok"}


def test_ready_reports_unreachable_database():
    # Nothing listens on this port, so the database is down while the process is alive.
    store = TaskStore(f"postgresql+psycopg://todo:pw@127.0.0.1:{free_port()}/todo?connect_timeout=2")
    server, thread, url = serve(build_server(store).streamable_http_app())
    try:
        assert httpx.get(f"{url}/health").status_code == 200
        ready = httpx.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 503
        assert "database not reachable" in ready.json()["error"]
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "sqlite:////tmp/x.db"),
        ("", "sqlite:////tmp/x.db"),
        ("sqlite:///data/t.db", "sqlite:///data/t.db"),
        ("postgres://u:p@db:5432/todo", "postgresql+psycopg://u:p@db:5432/todo"),
        ("postgresql://u:p@db/todo", "postgresql+psycopg://u:p@db/todo"),
        ("postgresql+psycopg://u:p@db/todo?sslmode=require", "postgresql+psycopg://u:p@db/todo?sslmode=require"),
        ("postgresql+asyncpg://u:p@db/todo?ssl=require", "postgresql+psycopg://u:p@db/todo?sslmode=require"),
        ("postgresql+asyncpg://u:p@db/todo?ssl=true&application_name=x", "postgresql+psycopg://u:p@db/todo?sslmode=require&application_name=x"),
    ],
)
def test_database_url_normalisation(given, expected):
    assert normalize_database_url(given, "/tmp/x.db") == expected


def test_database_url_errors_are_clear():
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'"):
        normalize_database_url("mysql://u:p@db/todo", "/tmp/x.db")
    with pytest.raises(ValueError, match="unsupported ssl='maybe'"):
        normalize_database_url("postgresql+asyncpg://db/todo?ssl=maybe", "/tmp/x.db")


def test_redact_hides_password():
    assert redact("postgresql+psycopg://todo:s3cret@db/todo") == "postgresql+psycopg://todo:***@db/todo"


def test_entry_point_rejects_bad_database_url():
    env = {**os.environ, "DATABASE_URL": "mysql://x/y", "PORT": str(free_port())}
    proc = subprocess.run([sys.executable, "-m", "todo_mcp"], cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "DATABASE_URL has unsupported scheme 'mysql'" in proc.stderr
