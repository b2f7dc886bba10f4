"""The chat agent: turns one user message into MCP tool calls and a reply."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import intents
from .config import Settings
from .llm import GeminiChat, OpenAIChat, ToolCall, ToolSpec
from .tools import TaskTools, ToolFailed, ToolSession

SYSTEM_PROMPT = (
    "You are the assistant of a todo app. Manage the user's tasks only through the tools: "
    "add_task, list_tasks, complete_task, delete_task, update_task. Tasks are referred to by the ids "
    "list_tasks shows; when the user names a task by its title, list the tasks first to find its id. "
    "Never invent ids. After acting, confirm briefly what you did, quoting task ids and titles."
)
MAX_TOOL_ROUNDS = 6


@dataclass
class ChatResult:
    reply: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def tool_spec(name: str, description: str | None, input_schema: dict[str, Any]) -> ToolSpec:
    """The tool as the model sees it: without user_id, which the backend always fills in."""
    schema = copy.deepcopy(input_schema)
    schema.get("properties", {}).pop("user_id", None)
    schema["required"] = [r for r in schema.get("required", []) if r != "user_id"]
    schema.pop("title", None)
    return ToolSpec(name, description or "", schema)


class Agent:
    def __init__(self, settings: Settings, tools: TaskTools, http: httpx.AsyncClient):
        self.settings, self.tools, self.http = settings, tools, http

    async def respond(self, user_id: str, history: list[tuple[str, str]], message: str) -> ChatResult:
        if self.settings.llm_provider == "none":
            return await self._respond_offline(user_id, message)
        return await self._respond_with_model(user_id, history, message)

    async def _respond_offline(self, user_id: str, message: str) -> ChatResult:
        intent = intents.parse(message)
        if intent is None:
            return ChatResult(intents.HELP)
        record: dict[str, Any] = {"name": intent.tool, "arguments": intent.arguments}
        try:
            result = await self.tools.call(user_id, intent.tool, intent.arguments)
        except ToolFailed as err:
            record["error"] = str(err)
            return ChatResult(f"Sorry, that did not work: {err}", [record])
        record["result"] = result
        return ChatResult(intents.describe(intent, result), [record])

    def _model(self):
        s = self.settings
        if s.llm_provider == "openai":
            return OpenAIChat(s.openai_api_key, s.llm_model, s.openai_base_url, self.http)
        return GeminiChat(s.gemini_api_key, s.llm_model, self.http)

    async def _respond_with_model(self, user_id: str, history: list[tuple[str, str]], message: str) -> ChatResult:
        chat = self._model()
        chat.start(SYSTEM_PROMPT, history, message)
        records: list[dict[str, Any]] = []
        async with self.tools.session() as session:
            specs = [tool_spec(t.name, t.description, t.inputSchema) for t in await session.list_tools()]
            for _ in range(MAX_TOOL_ROUNDS):
                turn = await chat.next_turn(specs)
                if not turn.tool_calls:
                    return ChatResult(turn.text.strip() or "Done.", records)
                for call in turn.tool_calls:
                    chat.add_tool_result(call, await self._run(session, user_id, call, records))
        return ChatResult("I stopped after too many tool calls; please rephrase your request.", records)

    @staticmethod
    async def _run(session: ToolSession, user_id: str, call: ToolCall, records: list[dict[str, Any]]) -> Any:
        arguments = {k: v for k, v in call.arguments.items() if k != "user_id"}
        record: dict[str, Any] = {"name": call.name, "arguments": arguments}
        try:
            result = await session.call(user_id, call.name, arguments)
            record["result"] = result
        except ToolFailed as err:  # the model gets the error and can correct itself
            result = {"error": str(err)}
            record["error"] = str(err)
        records.append(record)
        return result
