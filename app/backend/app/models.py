"""Conversations and messages: the chat history that keeps the server stateless."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Text, text
from sqlmodel import Field, Session, SQLModel, create_engine, select


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    user_id: str = Field(index=True, max_length=128)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=36)
    role: str = Field(max_length=16)  # "user" or "assistant"
    content: str = Field(sa_column=Column(Text, nullable=False))
    tool_calls_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=_now)

    @property
    def tool_calls(self) -> list[dict[str, Any]] | None:
        return json.loads(self.tool_calls_json) if self.tool_calls_json else None


class ConversationNotFound(LookupError):
    pass


class ChatStore:
    def __init__(self, url: str):
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        self._schema_ready = False
        self._lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Create the chat tables on first use; replicas racing on CREATE TABLE retry once."""
        if self._schema_ready:
            return
        with self._lock:
            if self._schema_ready:
                return
            tables = [Conversation.__table__, Message.__table__]
            try:
                SQLModel.metadata.create_all(self.engine, tables=tables)
            except Exception:
                SQLModel.metadata.create_all(self.engine, tables=tables)
            self._schema_ready = True

    def ping(self) -> None:
        self.ensure_schema()
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def session(self) -> Session:
        self.ensure_schema()
        return Session(self.engine, expire_on_commit=False)

    def get_or_create(self, user_id: str, conversation_id: str | None) -> Conversation:
        with self.session() as session:
            if conversation_id:
                conv = session.get(Conversation, conversation_id)
                if conv is None or conv.user_id != user_id:
                    raise ConversationNotFound(conversation_id)
                return conv
            conv = Conversation(user_id=user_id)
            session.add(conv)
            session.commit()
            return conv

    def history(self, conversation_id: str, limit: int = 20) -> list[Message]:
        with self.session() as session:
            rows = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id.desc())  # type: ignore[union-attr]
                .limit(limit)
            ).all()
        return list(reversed(rows))

    def append(
        self, conversation_id: str, role: str, content: str, tool_calls: list[dict[str, Any]] | None = None
    ) -> Message:
        with self.session() as session:
            msg = Message(
                conversation_id=conversation_id,
                role=role,
                content=content,
                tool_calls_json=json.dumps(tool_calls) if tool_calls else None,
            )
            session.add(msg)
            conv = session.get(Conversation, conversation_id)
            if conv is not None:
                conv.updated_at = _now()
                session.add(conv)
            session.commit()
            session.refresh(msg)
        return msg
