"""The MCP server: task tools over streamable HTTP at /mcp, plus /health and /ready."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from .db import database_url_from_env, redact
from .store import InvalidTask, Task, TaskNotFound, TaskStore

log = logging.getLogger("todo_mcp")

UserId = Annotated[str, Field(min_length=1, max_length=128, description="Id of the user who owns the tasks.")]
TaskId = Annotated[int, Field(ge=1, description="Task id, as shown by list_tasks.")]


class TaskOut(BaseModel):
    id: int
    title: str
    description: str
    completed: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> "TaskOut":
        assert task.id is not None
        return cls(
            id=task.id,
            title=task.title,
            description=task.description,
            completed=task.completed,
            created_at=task.created_at,
            updated_at=task.updated_at,
        )


class TaskList(BaseModel):
    tasks: list[TaskOut]
    count: int


class DeletedTask(BaseModel):
    id: int
    title: str
    status: Literal["deleted"] = "deleted"


def build_server(store: TaskStore) -> FastMCP:
    mcp = FastMCP(
        "todo",
        instructions="Manage a user's todo list. Every tool takes the user's id.",
        stateless_http=True,  # no session state: any replica answers any request
        json_response=True,
        streamable_http_path="/mcp",
        # The server is reached by Service name inside the cluster (Host: <release>-mcp:8001),
        # never by a browser, so Host-header checks against localhost would only break it.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    async def run(fn, *args, **kwargs):
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except (TaskNotFound, InvalidTask) as err:
            raise ToolError(str(err)) from err

    @mcp.tool()
    async def add_task(
        user_id: UserId,
        title: Annotated[str, Field(description="What needs doing, e.g. 'buy milk'.")],
        description: Annotated[str, Field(description="Optional details.")] = "",
    ) -> TaskOut:
        """Add a task to the user's list and return it with its id."""
        return TaskOut.of(await run(store.add, user_id, title, description))

    @mcp.tool()
    async def list_tasks(
        user_id: UserId,
        status: Annotated[
            Literal["all", "pending", "completed"], Field(description="Which tasks to list.")
        ] = "all",
    ) -> TaskList:
        """List the user's tasks, oldest first."""
        tasks = [TaskOut.of(t) for t in await run(store.list, user_id, status)]
        return TaskList(tasks=tasks, count=len(tasks))

    @mcp.tool()
    async def complete_task(user_id: UserId, task_id: TaskId) -> TaskOut:
        """Mark a task as completed."""
        return TaskOut.of(await run(store.complete, user_id, task_id))

    @mcp.tool()
    async def delete_task(user_id: UserId, task_id: TaskId) -> DeletedTask:
        """Delete a task for good."""
        task = await run(store.delete, user_id, task_id)
        return DeletedTask(id=task_id, title=task.title)

    @mcp.tool()
    async def update_task(
        user_id: UserId,
        task_id: TaskId,
        title: Annotated[str | None, Field(description="New title.")] = None,
        description: Annotated[str | None, Field(description="New description.")] = None,
        completed: Annotated[bool | None, Field(description="Set or clear the completed flag.")] = None,
    ) -> TaskOut:
        """Change a task's title, description or completed flag."""
        return TaskOut.of(await run(store.update, user_id, task_id, title, description, completed))

    @mcp.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @mcp.custom_route("/ready", methods=["GET"])
    async def ready(_: Request) -> JSONResponse:
        try:
            await anyio.to_thread.run_sync(store.ping)
        except Exception as err:  # any failure here means "not ready", with the reason
            log.warning("database not reachable: %s", err)
            return JSONResponse({"status": "unavailable", "error": f"database not reachable: {err}"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return mcp


def create_app():
    """ASGI app for uvicorn, configured from the environment."""
    url = database_url_from_env("mcp")
    log.info("task storage: %s", redact(url))
    store = TaskStore(url)
    try:
        store.ensure_schema()
    except Exception as err:  # the database may still be starting; /ready reports it until it is up
        log.warning("database not reachable yet (%s); will retry on first use", err)
    return build_server(store).streamable_http_app()
