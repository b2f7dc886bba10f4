"""Chat models with tool calling, spoken to over plain HTTP (OpenAI-compatible and Gemini)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx


class LLMError(Exception):
    """The model's API failed; the message names the provider and the HTTP status."""


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Turn:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema, without user_id


def _raise_for_status(provider: str, response: httpx.Response) -> None:
    if response.is_success:
        return
    detail = response.text[:300]
    try:
        detail = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        pass
    raise LLMError(f"{provider} API returned HTTP {response.status_code}: {detail}")


class OpenAIChat:
    """Chat Completions API; works with any OpenAI-compatible server (OPENAI_BASE_URL)."""

    provider = "openai"

    def __init__(self, api_key: str, model: str, base_url: str, http: httpx.AsyncClient):
        self.api_key, self.model, self.base_url, self.http = api_key, model, base_url, http
        self.messages: list[dict[str, Any]] = []

    def start(self, system: str, history: list[tuple[str, str]], user_message: str) -> None:
        self.messages = [{"role": "system", "content": system}]
        self.messages += [{"role": role, "content": content} for role, content in history]
        self.messages.append({"role": "user", "content": user_message})

    async def next_turn(self, tools: list[ToolSpec]) -> Turn:
        body = {
            "model": self.model,
            "messages": self.messages,
            "tools": [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in tools
            ],
        }
        try:
            response = await self.http.post(
                f"{self.base_url}/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        except httpx.HTTPError as err:
            raise LLMError(f"openai API at {self.base_url} unreachable: {err}") from err
        _raise_for_status("openai", response)
        try:
            message = response.json()["choices"][0]["message"]
            calls = [
                ToolCall(c["id"], c["function"]["name"], json.loads(c["function"].get("arguments") or "{}"))
                for c in message.get("tool_calls") or []
            ]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise LLMError(f"openai API returned an unexpected response: {err!r}") from err
        self.messages.append({k: v for k, v in message.items() if k in ("role", "content", "tool_calls")})
        return Turn(message.get("content") or "", calls)

    def add_tool_result(self, call: ToolCall, result: Any) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})


_GEMINI_SCHEMA_KEYS = {
    "type", "format", "description", "nullable", "enum", "properties", "required", "items",
    "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
}


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema from the MCP server, trimmed to the OpenAPI subset Gemini accepts."""
    schema = dict(schema)
    any_of = schema.pop("anyOf", None)
    if any_of:  # pydantic's Optional[X] is anyOf [X, null]
        non_null = [s for s in any_of if s.get("type") != "null"]
        if len(non_null) == 1:
            schema = {**non_null[0], **{k: v for k, v in schema.items() if k != "default"}}
            schema["nullable"] = True
    out = {k: v for k, v in schema.items() if k in _GEMINI_SCHEMA_KEYS}
    if "properties" in out:
        out["properties"] = {name: gemini_schema(s) for name, s in out["properties"].items()}
    if "items" in out:
        out["items"] = gemini_schema(out["items"])
    if isinstance(out.get("type"), str):
        out["type"] = out["type"].upper()
    return out


class GeminiChat:
    """Gemini generateContent API with function declarations."""

    provider = "gemini"
    base_url = "https://generativelanguage.googleapis.com/v1beta"

    def __init__(self, api_key: str, model: str, http: httpx.AsyncClient):
        self.api_key, self.model, self.http = api_key, model, http
        self.system = ""
        self.contents: list[dict[str, Any]] = []

    def start(self, system: str, history: list[tuple[str, str]], user_message: str) -> None:
        self.system = system
        self.contents = [
            {"role": "model" if role == "assistant" else "user", "parts": [{"text": content}]}
            for role, content in history
        ]
        self.contents.append({"role": "user", "parts": [{"text": user_message}]})

    async def next_turn(self, tools: list[ToolSpec]) -> Turn:
        body = {
            "systemInstruction": {"parts": [{"text": self.system}]},
            "contents": self.contents,
            "tools": [
                {
                    "functionDeclarations": [
                        {"name": t.name, "description": t.description, "parameters": gemini_schema(t.parameters)}
                        for t in tools
                    ]
                }
            ],
        }
        url = f"{self.base_url}/models/{self.model}:generateContent"
        try:
            response = await self.http.post(url, json=body, headers={"x-goog-api-key": self.api_key})
        except httpx.HTTPError as err:
            raise LLMError(f"gemini API unreachable: {err}") from err
        _raise_for_status("gemini", response)
        try:
            content = response.json()["candidates"][0]["content"]
            parts = content.get("parts") or []
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise LLMError(f"gemini API returned an unexpected response: {err!r}") from err
        self.contents.append({"role": "model", "parts": parts})
        text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
        calls = [
            ToolCall(p["functionCall"].get("id") or uuid.uuid4().hex, p["functionCall"]["name"], p["functionCall"].get("args") or {})
            for p in parts
            if "functionCall" in p
        ]
        return Turn(text, calls)

    def add_tool_result(self, call: ToolCall, result: Any) -> None:
        part = {"functionResponse": {"name": call.name, "response": {"result": result}}}
        # Consecutive results of one turn go into one user message, as the API expects.
        last = self.contents[-1]
        if last["role"] == "user" and all("functionResponse" in p for p in last["parts"]):
            last["parts"].append(part)
        else:
            self.contents.append({"role": "user", "parts": [part]})
