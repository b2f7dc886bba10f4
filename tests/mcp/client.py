"""A real MCP client (the official Python SDK, as the reference app pins it) for
berth's MCP tests. It connects to `berth mcp` over stdio or streamable HTTP,
initializes, lists the tools and calls the tools named in a JSON list read from
stdin ([{"tool": NAME, "arguments": {...}}, ...]); it prints one JSON document
with what the server answered. The Rust test decides what is right.

    python client.py stdio BERTH [ARGS...] < calls.json
    python client.py http URL [HEADER:VALUE...] < calls.json
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client


async def session_calls(read, write, calls):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        listed = await session.list_tools()
        results = []
        for call in calls:
            result = await session.call_tool(call["tool"], call.get("arguments", {}))
            results.append(
                {
                    "tool": call["tool"],
                    "is_error": bool(result.isError),
                    "structured": result.structuredContent,
                    "text": "\n".join(
                        c.text for c in result.content if getattr(c, "text", None)
                    ),
                }
            )
        return {
            "server": init.serverInfo.name,
            "protocol": init.protocolVersion,
            "tools": [
                {
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.inputSchema,
                    "has_output_schema": t.outputSchema is not None,
                }
                for t in listed.tools
            ],
            "calls": results,
        }


async def main():
    transport, target, *rest = sys.argv[1:]
    calls = json.load(sys.stdin)
    if transport == "stdio":
        params = StdioServerParameters(command=target, args=rest, env=None)
        async with stdio_client(params) as (read, write):
            report = await session_calls(read, write, calls)
    elif transport == "http":
        headers = dict(h.split(":", 1) for h in rest)
        async with streamablehttp_client(target, headers=headers) as (read, write, _):
            report = await session_calls(read, write, calls)
    else:
        raise SystemExit(f"unknown transport {transport}")
    json.dump(report, sys.stdout)


asyncio.run(main())
