"""app/env.toml lists exactly the environment variables the three apps' code reads."""

import re
import tomllib
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2]
CONTRACT = tomllib.loads((APP / "env.toml").read_text())

SOURCES = {
    "backend": ("backend/app", "*.py", r"""\bget\(\s*["']([A-Z][A-Z0-9_]+)["']|environ\[["']([A-Z][A-Z0-9_]+)["']\]"""),
    "mcp": ("mcp/todo_mcp", "*.py", r"""\bget\(\s*["']([A-Z][A-Z0-9_]+)["']|environ\[["']([A-Z][A-Z0-9_]+)["']\]"""),
    "frontend": ("frontend/src", "*.ts*", r"""\benv\.([A-Z][A-Z0-9_]+)"""),
}


def names_read_by(app: str) -> set[str]:
    folder, glob, pattern = SOURCES[app]
    found = set()
    for path in (APP / folder).rglob(glob):
        for match in re.finditer(pattern, path.read_text()):
            found.update(g for g in match.groups() if g)
    return found


@pytest.mark.parametrize("app", sorted(SOURCES))
def test_env_contract_matches_the_code(app):
    entry = CONTRACT[app]
    declared = set(entry["required"]) | set(entry["optional"]) | set(entry.get("local", []))
    framework = set(entry.get("framework", []))
    assert names_read_by(app) == declared - framework


def test_no_build_time_urls_in_the_frontend():
    for path in (APP / "frontend/src").rglob("*.ts*"):
        assert "NEXT_PUBLIC_" not in path.read_text(), f"{path} bakes a value into the bundle"
