"use client";

import { FormEvent, useCallback, useEffect, useRef, useState } from "react";

type Task = { id: number; title: string; description: string; completed: boolean };
type ChatMessage = { role: "user" | "assistant" | "error"; content: string };

const CONVERSATION_KEY = "todo-conversation-id";

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: { "content-type": "application/json", ...(init?.headers ?? {}) },
    credentials: "same-origin",
  });
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
    } catch {
      /* not JSON: keep the status line */
    }
    throw new Error(detail);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export default function TodoApp() {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [taskError, setTaskError] = useState<string | null>(null);
  const [newTitle, setNewTitle] = useState("");
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");
  const [sending, setSending] = useState(false);
  const conversationId = useRef<string | null>(null);
  const chatEnd = useRef<HTMLDivElement>(null);

  const loadTasks = useCallback(async () => {
    try {
      setTasks(await api<Task[]>("/api/tasks"));
      setTaskError(null);
    } catch (err) {
      setTaskError((err as Error).message);
    }
  }, []);

  useEffect(() => {
    void loadTasks();
    const saved = window.sessionStorage.getItem(CONVERSATION_KEY);
    if (saved) {
      api<{ role: "user" | "assistant"; content: string }[]>(`/api/conversations/${encodeURIComponent(saved)}/messages`)
        .then((history) => {
          conversationId.current = saved;
          setMessages(history.map((m) => ({ role: m.role, content: m.content })));
        })
        .catch(() => window.sessionStorage.removeItem(CONVERSATION_KEY));
    }
  }, [loadTasks]);

  useEffect(() => {
    // Braces matter: newer browsers return a Promise from scrollIntoView, and an effect
    // may only return a cleanup function.
    void chatEnd.current?.scrollIntoView({ block: "end" });
  }, [messages]);

  async function mutate(action: () => Promise<unknown>) {
    try {
      await action();
    } catch (err) {
      setTaskError((err as Error).message);
    }
    await loadTasks();
  }

  async function addTask(e: FormEvent) {
    e.preventDefault();
    const title = newTitle.trim();
    if (!title) return;
    setNewTitle("");
    await mutate(() => api("/api/tasks", { method: "POST", body: JSON.stringify({ title }) }));
  }

  async function send(e: FormEvent) {
    e.preventDefault();
    const message = draft.trim();
    if (!message || sending) return;
    setDraft("");
    setSending(true);
    setMessages((m) => [...m, { role: "user", content: message }]);
    try {
      const res = await api<{ conversation_id: string; reply: string; tool_calls?: unknown[] | null }>("/api/chat", {
        method: "POST",
        body: JSON.stringify({ conversation_id: conversationId.current, message }),
      });
      conversationId.current = res.conversation_id;
      window.sessionStorage.setItem(CONVERSATION_KEY, res.conversation_id);
      setMessages((m) => [...m, { role: "assistant", content: res.reply }]);
      if (res.tool_calls?.length) await loadTasks();
    } catch (err) {
      setMessages((m) => [...m, { role: "error", content: (err as Error).message }]);
    } finally {
      setSending(false);
    }
  }

  const pending = tasks.filter((t) => !t.completed).length;

  return (
    <main className="layout">
      <section className="panel" aria-labelledby="tasks-heading">
        <h1 id="tasks-heading">Tasks</h1>
        <p className="muted">
          {tasks.length === 0 ? "Nothing yet." : `${pending} pending of ${tasks.length}`}
        </p>
        {taskError && (
          <p className="error" role="alert">
            {taskError}
          </p>
        )}
        <ul className="tasks" data-testid="task-list">
          {tasks.map((t) => (
            <li key={t.id} data-testid="task-item" className={t.completed ? "done" : ""}>
              <label>
                <input
                  type="checkbox"
                  checked={t.completed}
                  onChange={() =>
                    mutate(() => api(`/api/tasks/${t.id}`, { method: "PATCH", body: JSON.stringify({ completed: !t.completed }) }))
                  }
                />
                <span className="id">#{t.id}</span> <span className="title">{t.title}</span>
              </label>
              <button
                className="link"
                aria-label={`Delete task ${t.id}`}
                onClick={() => mutate(() => api(`/api/tasks/${t.id}`, { method: "DELETE" }))}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={addTask} className="row">
          <input
            aria-label="New task"
            placeholder="New task"
            value={newTitle}
            maxLength={200}
            onChange={(e) => setNewTitle(e.target.value)}
          />
          <button type="submit">Add</button>
        </form>
      </section>

      <section className="panel chat" aria-labelledby="chat-heading">
        <h2 id="chat-heading">Assistant</h2>
        <div className="messages" data-testid="chat-messages" aria-live="polite">
          {messages.length === 0 && (
            <p className="muted">Try &quot;add buy milk&quot;, &quot;show my tasks&quot; or &quot;complete 1&quot;.</p>
          )}
          {messages.map((m, i) => (
            <p key={i} className={`msg ${m.role}`} data-testid={`chat-${m.role}`}>
              {m.content}
            </p>
          ))}
          <div ref={chatEnd} />
        </div>
        <form onSubmit={send} className="row">
          <input
            aria-label="Message"
            placeholder="Ask me to add, list, complete or delete tasks"
            data-testid="chat-input"
            value={draft}
            maxLength={4000}
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit" data-testid="chat-send" disabled={sending}>
            {sending ? "…" : "Send"}
          </button>
        </form>
      </section>
    </main>
  );
}
