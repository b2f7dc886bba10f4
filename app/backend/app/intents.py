"""Offline chat: a small deterministic intent parser that calls the same MCP tools as the model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

HELP = (
    "I can manage your tasks. Try: \"add buy milk\", \"show my tasks\", \"show completed tasks\", "
    "\"complete 3\", \"delete 2\" or \"rename 2 to call mom\"."
)


@dataclass(frozen=True)
class Intent:
    tool: str
    arguments: dict[str, Any]


_ID = r"(?:task\s+)?(?:number\s+|no\.?\s*)?#?(?P<id>\d+)"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "update_task",
        re.compile(rf"^(?:rename|update|change|edit)\s+{_ID}(?:\s+(?:to|as|into)\s+|\s*:\s*)(?P<title>.+)$", re.I),
    ),
    (
        "complete_task",
        re.compile(
            rf"^(?:complete|finish|done(?:\s+with)?|mark|check(?:\s+off)?|tick(?:\s+off)?)\s+{_ID}"
            r"(?:\s+(?:as\s+)?(?:done|complete|completed|finished))?$",
            re.I,
        ),
    ),
    ("delete_task", re.compile(rf"^(?:delete|remove|drop|cancel)\s+{_ID}$", re.I)),
    (
        "add_task",
        re.compile(
            r"^(?:add|create|new|remember(?:\s+to)?|remind\s+me\s+to)\s+"
            r"(?:a\s+)?(?:new\s+)?(?:(?:task|todo|item)\b\s*)?(?:(?:to|called|named)\s+|:\s*)?(?P<title>.+?)"
            r"(?:\s+to\s+(?:my\s+)?(?:list|tasks|todo(?:\s+list)?))?$",
            re.I,
        ),
    ),
]
_LIST = re.compile(
    r"^(?:(?:show|list|view|see|display|get)\b.*|what(?:'s|\s+is|\s+are)?\b.*\b(?:tasks?|todo|list)\b.*|"
    r"(?:my\s+)?(?:tasks|todos?|list)\??)$",
    re.I,
)


def parse(message: str) -> Intent | None:
    """The tool call a message asks for, or None when it is not understood."""
    text = " ".join(message.strip().rstrip(".!").split())
    text = re.sub(r"^(?:please|pls|can you|could you)\s+", "", text, flags=re.I)
    for tool, pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        groups = m.groupdict()
        args: dict[str, Any] = {}
        if groups.get("id"):
            args["task_id"] = int(groups["id"])
        if groups.get("title"):
            title = groups["title"].strip().strip("\"'“”").strip()
            if not title:
                continue
            args["title"] = title
        return Intent(tool, args)
    if _LIST.match(text):
        lowered = text.lower()
        if re.search(r"\b(pending|open|todo|remaining|left|incomplete|unfinished)\b", lowered) and "all" not in lowered:
            return Intent("list_tasks", {"status": "pending"})
        if re.search(r"\b(completed|done|finished)\b", lowered):
            return Intent("list_tasks", {"status": "completed"})
        return Intent("list_tasks", {"status": "all"})
    return None


def describe(intent: Intent, result: Any) -> str:
    """A human reply for a successful tool call."""
    if intent.tool == "add_task":
        return f"Added task {result['id']}: \"{result['title']}\"."
    if intent.tool == "complete_task":
        return f"Completed task {result['id']}: \"{result['title']}\"."
    if intent.tool == "delete_task":
        return f"Deleted task {result['id']}: \"{result['title']}\"."
    if intent.tool == "update_task":
        return f"Renamed task {result['id']} to \"{result['title']}\"."
    tasks = result["tasks"]
    status = intent.arguments.get("status", "all")
    kind = {"all": "", "pending": "pending ", "completed": "completed "}[status]
    if not tasks:
        return f"You have no {kind}tasks." if kind else "You have no tasks yet. Try \"add buy milk\"."
    lines = [f"You have {len(tasks)} {kind}task{'s' if len(tasks) != 1 else ''}:"]
    for t in tasks:
        lines.append(f"{t['id']}. [{'x' if t['completed'] else ' '}] {t['title']}")
    return "\n".join(lines)
