"""Settings, read once from the environment (the only source of configuration)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from .db_url import database_url_from_env

Provider = Literal["openai", "gemini", "none"]

DEFAULT_MODELS = {"openai": "gpt-4o-mini", "gemini": "gemini-2.5-flash"}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    mcp_server_url: str
    auth_secret: str
    llm_provider: Provider
    llm_model: str
    openai_api_key: str
    openai_base_url: str
    gemini_api_key: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        get = lambda name, default="": (env.get(name) or default).strip()  # noqa: E731

        auth_secret = get("AUTH_SECRET")
        if not auth_secret:
            raise ConfigError("AUTH_SECRET is not set: the backend needs the HS256 secret it shares with the frontend")

        openai_key, gemini_key = get("OPENAI_API_KEY"), get("GEMINI_API_KEY")
        provider = get("LLM_PROVIDER").lower()
        if not provider:
            provider = "openai" if openai_key else "gemini" if gemini_key else "none"
        if provider not in ("openai", "gemini", "none"):
            raise ConfigError(f"LLM_PROVIDER must be openai, gemini or none, got {provider!r}")
        if provider == "openai" and not openai_key:
            raise ConfigError("LLM_PROVIDER is openai but OPENAI_API_KEY is not set")
        if provider == "gemini" and not gemini_key:
            raise ConfigError("LLM_PROVIDER is gemini but GEMINI_API_KEY is not set")

        return cls(
            database_url=database_url_from_env("backend", env),
            mcp_server_url=get("MCP_SERVER_URL", "http://127.0.0.1:8001/mcp"),
            auth_secret=auth_secret,
            llm_provider=provider,  # type: ignore[arg-type]
            llm_model=get("LLM_MODEL", DEFAULT_MODELS.get(provider, "")),
            openai_api_key=openai_key,
            openai_base_url=get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/"),
            gemini_api_key=gemini_key,
        )
