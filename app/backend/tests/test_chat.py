"""POST /api/chat in both modes. The MCP server is real; only the model's HTTP API is scripted."""

import json

import httpx

from conftest import FakeModel, token


def chat(client, auth, message, conversation_id=None):
    res = client.post("/api/chat", json={"message": message, "conversation_id": conversation_id}, headers=auth)
    assert res.status_code == 200, res.text
    return res.json()


# --- offline mode: the intent parser ---------------------------------------------------------


def test_offline_chat_manages_tasks_through_mcp(make_client, auth):
    client = make_client()
    added = chat(client, auth, "add buy milk")
    assert added["reply"].startswith("Added task") and '"buy milk"' in added["reply"]
    assert added["tool_calls"][0]["name"] == "add_task"
    task_id = added["tool_calls"][0]["result"]["id"]
    assert [t["title"] for t in client.get("/api/tasks", headers=auth).json()] == ["buy milk"]

    conv = added["conversation_id"]
    listed = chat(client, auth, "show my tasks", conv)
    assert listed["conversation_id"] == conv
    assert f"{task_id}. [ ] buy milk" in listed["reply"]

    assert "Renamed" in chat(client, auth, f"rename {task_id} to buy oat milk", conv)["reply"]
    assert "Completed" in chat(client, auth, f"complete {task_id}", conv)["reply"]
    task = client.get("/api/tasks", headers=auth).json()[0]
    assert task["title"] == "buy oat milk" and task["completed"] is True
    assert "Deleted" in chat(client, auth, f"delete {task_id}", conv)["reply"]
    assert client.get("/api/tasks", headers=auth).json() == []


def test_offline_chat_explains_errors_and_unknown_messages(make_client, auth):
    client = make_client()
    missing = chat(client, auth, "complete 987654")
    assert "Task 987654 not found" in missing["reply"]
    assert missing["tool_calls"][0]["error"].startswith("Task 987654 not found")
    help_reply = chat(client, auth, "what is the weather like?")
    assert "add buy milk" in help_reply["reply"] and help_reply["tool_calls"] is None


def test_conversations_are_stored_and_any_replica_can_continue(make_client, auth, user):
    first, second = make_client(), make_client()  # two app instances over one database
    conv = chat(first, auth, "add water plants")["conversation_id"]
    chat(second, auth, "show my tasks", conv)
    history = second.get(f"/api/conversations/{conv}/messages", headers=auth).json()
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[0]["content"] == "add water plants"
    assert history[1]["tool_calls"][0]["name"] == "add_task"
    other = {"Authorization": f"Bearer {token(user + '-other')}"}
    assert first.post("/api/chat", json={"message": "hi", "conversation_id": conv}, headers=other).status_code == 404
    assert first.get(f"/api/conversations/{conv}/messages", headers=other).status_code == 404


# --- OpenAI-compatible mode ------------------------------------------------------------------


def openai_tool_call(name, arguments, call_id="call_1"):
    return {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
                    ],
                }
            }
        ]
    }


def openai_text(text):
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


OPENAI_ENV = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://llm.test/v1", "LLM_MODEL": "gpt-test"}


def test_openai_mode_calls_tools_as_the_model_asks(make_client, auth, user):
    # The model tries to act for someone else; the backend always uses the token's user.
    model = FakeModel([openai_tool_call("add_task", {"title": "buy milk", "user_id": "mallory"}), openai_text("Added buy milk.")])
    client = make_client(OPENAI_ENV, llm=model)
    res = chat(client, auth, "please remember milk")
    assert res["reply"] == "Added buy milk."
    assert res["tool_calls"][0]["arguments"] == {"title": "buy milk"}
    assert [t["title"] for t in client.get("/api/tasks", headers=auth).json()] == ["buy milk"]
    mallory = {"Authorization": f"Bearer {token('mallory')}"}
    assert client.get("/api/tasks", headers=mallory).json() == []

    first = model.requests[0]
    assert str(first.url) == "http://llm.test/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer sk-test"
    body = model.body(0)
    assert body["model"] == "gpt-test"
    assert body["messages"][0]["role"] == "system" and body["messages"][-1] == {"role": "user", "content": "please remember milk"}
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in body["tools"]}
    assert set(tools) == {"add_task", "list_tasks", "complete_task", "delete_task", "update_task"}
    assert "user_id" not in tools["add_task"]["properties"] and "user_id" not in tools["add_task"]["required"]
    tool_message = model.body(1)["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    assert json.loads(tool_message["content"])["title"] == "buy milk"


def test_openai_mode_feeds_tool_errors_back_and_keeps_history(make_client, auth):
    model = FakeModel(
        [openai_tool_call("complete_task", {"task_id": 424242}), openai_text("There is no task 424242."), openai_text("Hello again.")]
    )
    client = make_client(OPENAI_ENV, llm=model)
    res = chat(client, auth, "complete 424242")
    assert res["reply"] == "There is no task 424242."
    assert "Task 424242 not found" in json.loads(model.body(1)["messages"][-1]["content"])["error"]
    chat(client, auth, "hi", res["conversation_id"])
    contents = [m.get("content") for m in model.body(2)["messages"]]
    assert contents[1:] == ["complete 424242", "There is no task 424242.", "hi"]


def test_model_api_failure_is_a_clear_502(make_client, auth):
    model = FakeModel([{"_status": 401, "error": {"message": "Incorrect API key provided"}}])
    client = make_client(OPENAI_ENV, llm=model)
    res = client.post("/api/chat", json={"message": "add x"}, headers=auth)
    assert res.status_code == 502
    assert res.json()["detail"] == "openai API returned HTTP 401: Incorrect API key provided"


# --- Gemini mode -----------------------------------------------------------------------------


def gemini_parts(*parts):
    return {"candidates": [{"content": {"role": "model", "parts": list(parts)}}]}


def test_gemini_mode_uses_function_calling(make_client, auth):
    model = FakeModel(
        [
            gemini_parts({"functionCall": {"name": "add_task", "args": {"title": "walk the dog"}}}),
            gemini_parts({"text": "Added walk the dog."}),
        ]
    )
    client = make_client({"GEMINI_API_KEY": "g-test"}, llm=model)
    res = chat(client, auth, "add walk the dog")
    assert res["reply"] == "Added walk the dog."
    assert [t["title"] for t in client.get("/api/tasks", headers=auth).json()] == ["walk the dog"]

    first = model.requests[0]
    assert first.url.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert first.headers["x-goog-api-key"] == "g-test"
    declarations = {d["name"]: d["parameters"] for d in model.body(0)["tools"][0]["functionDeclarations"]}
    assert declarations["complete_task"] == {
        "type": "OBJECT",
        "properties": {"task_id": {"type": "INTEGER", "description": "Task id, as shown by list_tasks.", "minimum": 1}},
        "required": ["task_id"],
    }
    assert declarations["update_task"]["properties"]["title"]["nullable"] is True
    answer = model.body(1)["contents"][-1]
    assert answer["role"] == "user"
    assert answer["parts"][0]["functionResponse"]["response"]["result"]["title"] == "walk the dog"


def test_unreachable_model_is_a_clear_502(make_client, auth):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = make_client(OPENAI_ENV, llm=refuse)
    res = client.post("/api/chat", json={"message": "add x"}, headers=auth)
    assert res.status_code == 502 and "unreachable" in res.json()["detail"]
