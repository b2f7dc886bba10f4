"""Settings from the environment, the intent parser, and the shared DATABASE_URL rules."""

from pathlib import Path

import pytest

from app.config import ConfigError, Settings
from app.intents import Intent, parse

BASE = {"AUTH_SECRET": "s"}


def test_provider_defaults_follow_the_keys():
    assert Settings.from_env(BASE).llm_provider == "none"
    openai = Settings.from_env({**BASE, "OPENAI_API_KEY": "k", "GEMINI_API_KEY": "g"})
    assert (openai.llm_provider, openai.llm_model) == ("openai", "gpt-4o-mini")
    gemini = Settings.from_env({**BASE, "GEMINI_API_KEY": "g"})
    assert (gemini.llm_provider, gemini.llm_model) == ("gemini", "gemini-2.5-flash")
    forced = Settings.from_env({**BASE, "OPENAI_API_KEY": "k", "LLM_PROVIDER": "none"})
    assert forced.llm_provider == "none"


def test_configuration_errors_say_what_to_set():
    with pytest.raises(ConfigError, match="AUTH_SECRET is not set"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        Settings.from_env({**BASE, "LLM_PROVIDER": "openai"})
    with pytest.raises(ConfigError, match="must be openai, gemini or none"):
        Settings.from_env({**BASE, "LLM_PROVIDER": "claude"})


def test_database_url_from_env():
    assert Settings.from_env(BASE).database_url == "sqlite:////tmp/todo-backend.db"
    assert Settings.from_env({**BASE, "SQLITE_PATH": "/data/c.db"}).database_url == "sqlite:////data/c.db"
    url = Settings.from_env({**BASE, "DATABASE_URL": "postgresql+asyncpg://u:p@db:5432/todo?ssl=require"}).database_url
    assert url == "postgresql+psycopg://u:p@db:5432/todo?sslmode=require"


def test_database_url_rules_are_the_same_in_both_apps():
    app_root = Path(__file__).resolve().parents[2]
    backend = (app_root / "backend/app/db_url.py").read_text()
    mcp = (app_root / "mcp/todo_mcp/db.py").read_text()
    assert backend == mcp, "app/backend/app/db_url.py and app/mcp/todo_mcp/db.py must stay identical"


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("add buy milk", Intent("add_task", {"title": "buy milk"})),
        ("Add a task to call mom.", Intent("add_task", {"title": "call mom"})),
        ("add tomatoes", Intent("add_task", {"title": "tomatoes"})),
        ("please add task: 'pay rent'", Intent("add_task", {"title": "pay rent"})),
        ("remind me to water plants", Intent("add_task", {"title": "water plants"})),
        ("show my tasks", Intent("list_tasks", {"status": "all"})),
        ("What are my tasks?", Intent("list_tasks", {"status": "all"})),
        ("list pending tasks", Intent("list_tasks", {"status": "pending"})),
        ("show completed tasks", Intent("list_tasks", {"status": "completed"})),
        ("complete 3", Intent("complete_task", {"task_id": 3})),
        ("mark task #3 as done", Intent("complete_task", {"task_id": 3})),
        ("delete 2", Intent("delete_task", {"task_id": 2})),
        ("remove task 2", Intent("delete_task", {"task_id": 2})),
        ("rename 2 to call mom", Intent("update_task", {"task_id": 2, "title": "call mom"})),
        ("update task 2: buy bread", Intent("update_task", {"task_id": 2, "title": "buy bread"})),
        ("hello there", None),
        ("delete everything", None),
    ],
)
def test_intent_parser(message, intent):
    assert parse(message) == intent


def test_entry_point_refuses_to_start_without_auth_secret():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AUTH_SECRET"}
    proc = subprocess.run(
        [sys.executable, "-m", "app"], cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "AUTH_SECRET is not set" in proc.stderr
