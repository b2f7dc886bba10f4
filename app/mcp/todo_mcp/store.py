"""Task storage: the one place that reads and writes the task table."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine, select

log = logging.getLogger(__name__)

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
StatusFilter = Literal["all", "pending", "completed"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=128)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    completed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class TaskNotFound(LookupError):
    def __init__(self, task_id: int):
        super().__init__(f"Task {task_id} not found. Use list_tasks to see your task ids.")
        self.task_id = task_id


class InvalidTask(ValueError):
    """Input that no database write could fix (empty title, too long, ...)."""


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidTask("Task title must not be empty.")
    if len(title) > TITLE_MAX:
        raise InvalidTask(f"Task title is {len(title)} characters long; the limit is {TITLE_MAX}.")
    return title


def _clean_description(description: str) -> str:
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidTask(f"Task description is {len(description)} characters long; the limit is {DESCRIPTION_MAX}.")
    return description


def _clean_user(user_id: str) -> str:
    user_id = user_id.strip()
    if not user_id or len(user_id) > 128:
        raise InvalidTask("user_id must be 1 to 128 characters.")
    return user_id


class TaskStore:
    """CRUD on tasks, always scoped to one user."""

    def __init__(self, url: str):
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Create the table on first use; cheap once done.

        Two replicas may race on CREATE TABLE; the loser's second attempt sees the table.
        """
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            try:
                SQLModel.metadata.create_all(self.engine, tables=[Task.__table__])
            except Exception:
                log.info("create_all failed once (another replica may be creating it); retrying")
                SQLModel.metadata.create_all(self.engine, tables=[Task.__table__])
            self._schema_ready = True

    def ping(self) -> None:
        self.ensure_schema()
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def _session(self) -> Session:
        self.ensure_schema()
        return Session(self.engine, expire_on_commit=False)

    def add(self, user_id: str, title: str, description: str = "") -> Task:
        task = Task(user_id=_clean_user(user_id), title=_clean_title(title), description=_clean_description(description))
        with self._session() as session:
            session.add(task)
            session.commit()
            session.refresh(task)
        return task

    def list(self, user_id: str, status: StatusFilter = "all") -> list[Task]:
        query = select(Task).where(Task.user_id == _clean_user(user_id))
        if status == "pending":
            query = query.where(Task.completed == False)  # noqa: E712 (SQL expression)
        elif status == "completed":
            query = query.where(Task.completed == True)  # noqa: E712
        elif status != "all":
            raise InvalidTask(f"Unknown status {status!r}: use all, pending or completed.")
        with self._session() as session:
            return list(session.exec(query.order_by(Task.id)).all())

    def _get(self, session: Session, user_id: str, task_id: int) -> Task:
        task = session.get(Task, task_id)
        # Another user's task is reported exactly like a missing one.
        if task is None or task.user_id != _clean_user(user_id):
            raise TaskNotFound(task_id)
        return task

    def update(
        self,
        user_id: str,
        task_id: int,
        title: str | None = None,
        description: str | None = None,
        completed: bool | None = None,
    ) -> Task:
        if title is None and description is None and completed is None:
            raise InvalidTask("Nothing to update: give a title, a description or completed.")
        with self._session() as session:
            task = self._get(session, user_id, task_id)
            if title is not None:
                task.title = _clean_title(title)
            if description is not None:
                task.description = _clean_description(description)
            if completed is not None:
                task.completed = completed
            task.updated_at = _now()
            session.add(task)
            session.commit()
            session.refresh(task)
        return task

    def complete(self, user_id: str, task_id: int) -> Task:
        return self.update(user_id, task_id, completed=True)

    def delete(self, user_id: str, task_id: int) -> Task:
        with self._session() as session:
            task = self._get(session, user_id, task_id)
            session.delete(task)
            session.commit()
        return task
