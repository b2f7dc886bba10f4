"""HTTP API: health, tasks (through the MCP server's tools) and chat."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .agent import Agent
from .auth import current_user
from .config import Settings
from .db_url import redact
from .llm import LLMError
from .models import ChatStore, ConversationNotFound
from .tools import TaskServiceUnavailable, TaskTools, ToolFailed

log = logging.getLogger("todo_backend")
User = Annotated[str, Depends(current_user)]


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    store = ChatStore(settings.database_url)
    log.info(
        "chat storage: %s; task tools: %s; chat mode: %s",
        redact(settings.database_url),
        settings.mcp_server_url,
        settings.llm_provider if settings.llm_provider == "none" else f"{settings.llm_provider} ({settings.llm_model})",
    )
    try:
        await anyio.to_thread.run_sync(store.ensure_schema)
    except Exception as err:  # the database may still be starting; /ready says so until it is up
        log.warning("database not reachable yet (%s); will retry on first use", err)
    async with httpx.AsyncClient(timeout=60, transport=app.state.llm_transport) as http:
        app.state.store = store
        app.state.tools = TaskTools(settings.mcp_server_url)
        app.state.agent = Agent(settings, app.state.tools, http)
        yield


def create_app(settings: Settings | None = None, llm_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The app; `llm_transport` lets tests stand in for the model's HTTP API (and nothing else)."""
    app = FastAPI(title="Todo chatbot backend", lifespan=lifespan)
    app.state.settings = settings or Settings.from_env()
    app.state.llm_transport = llm_transport

    @app.exception_handler(ToolFailed)
    async def tool_failed(_: Request, err: ToolFailed):
        return JSONResponse({"detail": str(err)}, status_code=404 if err.not_found else 422)

    @app.exception_handler(TaskServiceUnavailable)
    async def tasks_unavailable(_: Request, err: TaskServiceUnavailable):
        return JSONResponse({"detail": str(err)}, status_code=503)

    @app.exception_handler(LLMError)
    async def llm_failed(_: Request, err: LLMError):
        return JSONResponse({"detail": str(err)}, status_code=502)

    @app.exception_handler(ConversationNotFound)
    async def conversation_missing(_: Request, err: ConversationNotFound):
        return JSONResponse({"detail": f"conversation {err} not found"}, status_code=404)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready(request: Request):
        try:
            await anyio.to_thread.run_sync(request.app.state.store.ping)
        except Exception as err:
            return JSONResponse({"status": "unavailable", "error": f"database not reachable: {err}"}, status_code=503)
        return {"status": "ok"}

    app.include_router(api_router())
    return app


class TaskCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class TaskPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    completed: bool | None = None


class ChatRequest(BaseModel):
    conversation_id: str | None = None
    message: str = Field(min_length=1, max_length=4000)


class ChatResponse(BaseModel):
    conversation_id: str
    reply: str
    tool_calls: list[dict[str, Any]] | None = None


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api")

    def tools(request: Request) -> TaskTools:
        return request.app.state.tools

    @router.get("/tasks")
    async def list_tasks(
        request: Request, user: User, status: Literal["all", "pending", "completed"] = "all"
    ) -> list[dict[str, Any]]:
        result = await tools(request).call(user, "list_tasks", {"status": status})
        return result["tasks"]

    @router.post("/tasks", status_code=201)
    async def create_task(request: Request, user: User, body: TaskCreate) -> dict[str, Any]:
        return await tools(request).call(user, "add_task", body.model_dump())

    @router.patch("/tasks/{task_id}")
    async def update_task(request: Request, user: User, task_id: int, body: TaskPatch) -> dict[str, Any]:
        changes = body.model_dump(exclude_none=True)
        if not changes:
            raise HTTPException(422, "nothing to update: send title, description or completed")
        return await tools(request).call(user, "update_task", {"task_id": task_id, **changes})

    @router.post("/tasks/{task_id}/complete")
    async def complete_task(request: Request, user: User, task_id: int) -> dict[str, Any]:
        return await tools(request).call(user, "complete_task", {"task_id": task_id})

    @router.delete("/tasks/{task_id}", status_code=204)
    async def delete_task(request: Request, user: User, task_id: int) -> Response:
        await tools(request).call(user, "delete_task", {"task_id": task_id})
        return Response(status_code=204)

    @router.post("/chat")
    async def chat(request: Request, user: User, body: ChatRequest) -> ChatResponse:
        store: ChatStore = request.app.state.store
        agent: Agent = request.app.state.agent
        conv = await anyio.to_thread.run_sync(store.get_or_create, user, body.conversation_id)
        history = await anyio.to_thread.run_sync(store.history, conv.id)
        result = await agent.respond(user, [(m.role, m.content) for m in history], body.message)
        await anyio.to_thread.run_sync(store.append, conv.id, "user", body.message)
        await anyio.to_thread.run_sync(store.append, conv.id, "assistant", result.reply, result.tool_calls or None)
        return ChatResponse(conversation_id=conv.id, reply=result.reply, tool_calls=result.tool_calls or None)

    @router.get("/conversations/{conversation_id}/messages")
    async def conversation_messages(request: Request, user: User, conversation_id: str) -> list[dict[str, Any]]:
        store: ChatStore = request.app.state.store
        await anyio.to_thread.run_sync(store.get_or_create, user, conversation_id)
        history = await anyio.to_thread.run_sync(lambda: store.history(conversation_id, limit=200))
        return [
            {"role": m.role, "content": m.content, "tool_calls": m.tool_calls, "created_at": m.created_at.isoformat()}
            for m in history
        ]

    return router
