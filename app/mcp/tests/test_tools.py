"""The five task tools, called over streamable HTTP with the official MCP client."""


def ok(result):
    assert not result.isError, result.content
    return result.structuredContent


def error_text(result) -> str:
    assert result.isError, result.structuredContent
    return result.content[0].text


def test_tools_have_typed_inputs(client):
    tools = {t.name: t for t in client.list_tools()}
    assert set(tools) == {"add_task", "list_tasks", "complete_task", "delete_task", "update_task"}
    for tool in tools.values():
        assert "user_id" in tool.inputSchema["required"]
        assert tool.description
    complete = tools["complete_task"].inputSchema["properties"]["task_id"]
    assert complete["type"] == "integer" and complete["minimum"] == 1
    assert tools["list_tasks"].inputSchema["properties"]["status"]["enum"] == ["all", "pending", "completed"]


def test_add_then_list(client, user):
    added = ok(client.call("add_task", user_id=user, title="  buy milk ", description="2 litres"))
    assert added["title"] == "buy milk" and added["description"] == "2 litres" and added["completed"] is False
    listed = ok(client.call("list_tasks", user_id=user))
    assert listed["count"] == 1
    assert [t["id"] for t in listed["tasks"]] == [added["id"]]


def test_complete_and_filter(client, user):
    a = ok(client.call("add_task", user_id=user, title="a"))
    b = ok(client.call("add_task", user_id=user, title="b"))
    done = ok(client.call("complete_task", user_id=user, task_id=a["id"]))
    assert done["completed"] is True
    pending = ok(client.call("list_tasks", user_id=user, status="pending"))
    completed = ok(client.call("list_tasks", user_id=user, status="completed"))
    assert [t["id"] for t in pending["tasks"]] == [b["id"]]
    assert [t["id"] for t in completed["tasks"]] == [a["id"]]


def test_update(client, user):
    task = ok(client.call("add_task", user_id=user, title="call mum"))
    renamed = ok(client.call("update_task", user_id=user, task_id=task["id"], title="call mom"))
    assert renamed["title"] == "call mom"
    reopened = ok(client.call("update_task", user_id=user, task_id=task["id"], completed=False, description="evening"))
    assert reopened["completed"] is False and reopened["description"] == "evening"
    assert "Nothing to update" in error_text(client.call("update_task", user_id=user, task_id=task["id"]))
    assert "must not be empty" in error_text(client.call("update_task", user_id=user, task_id=task["id"], title="  "))


def test_delete(client, user):
    task = ok(client.call("add_task", user_id=user, title="temp"))
    deleted = ok(client.call("delete_task", user_id=user, task_id=task["id"]))
    assert deleted == {"id": task["id"], "title": "temp", "status": "deleted"}
    assert ok(client.call("list_tasks", user_id=user))["count"] == 0
    assert f"Task {task['id']} not found" in error_text(client.call("delete_task", user_id=user, task_id=task["id"]))


def test_bad_ids_get_clear_errors(client, user):
    assert "Task 99999 not found" in error_text(client.call("complete_task", user_id=user, task_id=99999))
    assert "Task 99999 not found" in error_text(client.call("update_task", user_id=user, task_id=99999, title="x"))
    # Schema validation rejects ids below 1 before any database work.
    assert "task_id" in error_text(client.call("complete_task", user_id=user, task_id=0))
    assert "task_id" in error_text(client.call("delete_task", user_id=user, task_id="three"))


def test_empty_title_rejected(client, user):
    assert "must not be empty" in error_text(client.call("add_task", user_id=user, title="   "))
    assert "limit is 200" in error_text(client.call("add_task", user_id=user, title="x" * 201))


def test_users_do_not_see_each_others_tasks(client, user):
    mine = ok(client.call("add_task", user_id=user, title="private"))
    other = user + "-other"
    assert ok(client.call("list_tasks", user_id=other))["count"] == 0
    assert f"Task {mine['id']} not found" in error_text(client.call("complete_task", user_id=other, task_id=mine["id"]))
    assert f"Task {mine['id']} not found" in error_text(client.call("delete_task", user_id=other, task_id=mine["id"]))
    assert ok(client.call("list_tasks", user_id=user))["tasks"][0]["completed"] is False
