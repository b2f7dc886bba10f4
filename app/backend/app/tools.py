"""Client for the MCP task server: every task operation goes through its tools."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, AsyncIterator

import httpx

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

# The MCP SDK is imported where a tool is used, not when the app starts: it is the largest
# import of the backend (about 0.4 s of each start of a pod, or of a reload in `berth dev`).


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class ToolFailed(Exception):
    """The tool ran and reported an error (bad id, empty title, ...): the user can fix it."""

    @property
    def not_found(self) -> bool:
        return "not found" in str(self).lower()


class TaskServiceUnavailable(Exception):
    """The MCP server could not be reached or spoke nonsense."""


def _result_payload(result: CallToolResult) -> Any:
    from mcp.types import TextContent

    if result.structuredContent is not None:
        return result.structuredContent
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    joined = "\n".join(texts)
    try:
        return json.loads(joined)
    except ValueError:
        return joined


def _error_text(result: CallToolResult) -> str:
    from mcp.types import TextContent

    text = "\n".join(c.text for c in result.content if isinstance(c, TextContent)).strip()
    # FastMCP prefixes tool errors with "Error executing tool <name>: "
    if text.startswith("Error executing tool") and ": " in text:
        text = text.split(": ", 1)[1]
    return text or "the tool failed without a message"


class TaskTools:
    """One MCP session per use; the server is stateless, so nothing is kept between requests."""

    def __init__(self, url: str, timeout: float = 15.0):
        self.url = url
        self.timeout = timeout

    @asynccontextmanager
    async def session(self) -> AsyncIterator["ToolSession"]:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared.exceptions import McpError

        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                async with streamable_http_client(self.url, http_client=http) as (read, write, _):
                    async with ClientSession(
                        read, write, read_timeout_seconds=timedelta(seconds=self.timeout)
                    ) as session:
                        await session.initialize()
                        yield ToolSession(session)
        except Exception as exc:  # anyio task groups wrap what happens inside in ExceptionGroups
            err = _unwrap(exc)
            if isinstance(err, (httpx.HTTPError, OSError, McpError)):
                raise TaskServiceUnavailable(f"task service at {self.url} failed: {err}") from err
            if err is not exc:
                raise err from None
            raise

    async def call(self, user_id: str, name: str, arguments: dict[str, Any]) -> Any:
        async with self.session() as s:
            return await s.call(user_id, name, arguments)


class ToolSession:
    def __init__(self, session: ClientSession):
        self._session = session

    async def list_tools(self) -> list[Tool]:
        return (await self._session.list_tools()).tools

    async def call(self, user_id: str, name: str, arguments: dict[str, Any]) -> Any:
        """Call a tool as `user_id` (the caller never chooses whose tasks it touches)."""
        args = {k: v for k, v in arguments.items() if k != "user_id"}
        args["user_id"] = user_id
        result = await self._session.call_tool(name, args)
        if result.isError:
            raise ToolFailed(_error_text(result))
        return _result_payload(result)
