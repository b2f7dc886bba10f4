import asyncio
import os
import socket
import threading
import time
import uuid
from typing import Any

import pytest
import uvicorn
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from todo_mcp.db import normalize_database_url
from todo_mcp.server import build_server
from todo_mcp.store import TaskStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test MCP server did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def postgres_url() -> str | None:
    """A throwaway PostgreSQL database (scripts/app-test.sh starts one and sets this)."""
    return os.environ.get("TEST_DATABASE_URL") or None


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def store(request, tmp_path_factory) -> TaskStore:
    """Every tool test runs on SQLite and, when one is provided, on a real PostgreSQL."""
    if request.param == "sqlite":
        return TaskStore(f"sqlite:///{tmp_path_factory.mktemp('db')}/tasks.db")
    url = postgres_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set (scripts/app-test.sh provides a PostgreSQL)")
    return TaskStore(normalize_database_url(url, ""))


@pytest.fixture(scope="session")
def base_url(store):
    """The real server (FastMCP + streamable HTTP) on a free loopback port."""
    server, thread, url = serve(build_server(store).streamable_http_app())
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


class Client:
    """Synchronous wrapper over the official MCP client, one session per call."""

    def __init__(self, url: str):
        self.url = url

    async def _with_session(self, fn):
        async with streamable_http_client(self.url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await fn(session)

    def call(self, name: str, **arguments: Any):
        return asyncio.run(self._with_session(lambda s: s.call_tool(name, arguments)))

    def list_tools(self):
        return asyncio.run(self._with_session(lambda s: s.list_tools())).tools


@pytest.fixture(scope="session")
def client(base_url) -> Client:
    return Client(f"{base_url}/mcp")
