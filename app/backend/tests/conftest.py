import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

APP_ROOT = Path(__file__).resolve().parents[2]  # app/
SECRET = "test-secret-that-is-long-enough-for-hs256"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mcp_url(tmp_path_factory):
    """The real MCP server from app/mcp, as its own process on a free loopback port."""
    port = free_port()
    db = tmp_path_factory.mktemp("mcp") / "tasks.db"
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SQLITE_PATH": str(db),
        "LOG_LEVEL": "warning",
        "PYTHONPATH": str(APP_ROOT / "mcp"),
    }
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "todo_mcp"], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("MCP server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def token(user: str, secret: str = SECRET, **claims) -> str:
    return jwt.encode({"sub": user, "exp": int(time.time()) + 3600, **claims}, secret, algorithm="HS256")


@pytest.fixture
def make_client(mcp_url, tmp_path) -> Callable[..., TestClient]:
    """A backend app (lifespan and all) with the given extra env; `llm` handles the model's HTTP API."""
    clients = []

    def make(env: dict[str, str] | None = None, llm: Callable[[httpx.Request], httpx.Response] | None = None):
        settings = Settings.from_env(
            {
                "AUTH_SECRET": SECRET,
                "MCP_SERVER_URL": mcp_url,
                "SQLITE_PATH": str(tmp_path / "chat.db"),
                **(env or {}),
            }
        )
        transport = httpx.MockTransport(llm) if llm else None
        client = TestClient(create_app(settings, llm_transport=transport))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user)}"}


class FakeModel:
    """Scripted replies for a model API; records every request it gets."""

    def __init__(self, replies: list[dict]):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            return httpx.Response(500, json={"error": {"message": "no more scripted replies"}})
        reply = self.replies.pop(0)
        return httpx.Response(reply.pop("_status", 200), json=reply)

    def body(self, i: int) -> dict:
        return json.loads(self.requests[i].content)
