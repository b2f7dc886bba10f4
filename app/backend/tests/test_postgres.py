"""The backend's own tables on a real PostgreSQL (scripts/app-test.sh provides one)."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

from test_chat import chat

PG = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG, reason="TEST_DATABASE_URL is not set (scripts/app-test.sh provides a PostgreSQL)")


def spelled(scheme: str, query: str = "") -> str:
    """TEST_DATABASE_URL with another scheme, as users write it."""
    parts = urlsplit(PG)
    return urlunsplit((scheme, parts.netloc, parts.path, query, ""))


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(lambda: spelled("postgres"), id="postgres://"),
        pytest.param(lambda: spelled("postgresql+asyncpg", "ssl=disable"), id="asyncpg-style ssl="),
    ],
)
def test_chat_history_on_postgres(make_client, auth, url):
    first, second = make_client({"DATABASE_URL": url()}), make_client({"DATABASE_URL": url()})
    assert first.get("/ready").json() == {"status": "ok"}
    assert first.app.state.settings.database_url.startswith("postgresql+psycopg://")
    conv = chat(first, auth, "add buy milk")["conversation_id"]
    assert "buy milk" in chat(second, auth, "show my tasks", conv)["reply"]
    history = second.get(f"/api/conversations/{conv}/messages", headers=auth).json()
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
