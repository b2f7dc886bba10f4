"""REST API through the real MCP server: health, auth, task CRUD."""

import time

import jwt

from conftest import SECRET, token


def test_health_and_ready(make_client):
    client = make_client()
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ok"}


def test_ready_reports_unreachable_database(make_client):
    client = make_client({"DATABASE_URL": "postgresql://todo:pw@127.0.0.1:1/todo?connect_timeout=2"})
    assert client.get("/health").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 503 and "database not reachable" in ready.json()["error"]


def test_api_requires_a_valid_token(make_client, user):
    client = make_client()
    missing = client.get("/api/tasks")
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["detail"]
    wrong_key = client.get("/api/tasks", headers={"Authorization": f"Bearer {token(user, 'another-secret-long-enough-for-hs256')}"})
    assert wrong_key.status_code == 401 and "invalid session token" in wrong_key.json()["detail"]
    expired = client.get("/api/tasks", headers={"Authorization": f"Bearer {token(user, exp=int(time.time()) - 600)}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    no_sub = jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {no_sub}"}).status_code == 401
    none_alg = jwt.encode({"sub": user}, None, algorithm="none")
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {none_alg}"}).status_code == 401


def test_cookie_authenticates_like_the_bearer_header(make_client, user, auth):
    client = make_client()
    created = client.post("/api/tasks", json={"title": "from header"}, headers=auth)
    assert created.status_code == 201
    client.cookies.set("todo_session", token(user))
    assert [t["title"] for t in client.get("/api/tasks").json()] == ["from header"]


def test_task_crud(make_client, auth):
    client = make_client()
    task = client.post("/api/tasks", json={"title": "buy milk"}, headers=auth).json()
    assert task["completed"] is False
    renamed = client.patch(f"/api/tasks/{task['id']}", json={"title": "buy oat milk"}, headers=auth)
    assert renamed.status_code == 200 and renamed.json()["title"] == "buy oat milk"
    done = client.post(f"/api/tasks/{task['id']}/complete", headers=auth).json()
    assert done["completed"] is True
    assert client.get("/api/tasks?status=pending", headers=auth).json() == []
    assert [t["id"] for t in client.get("/api/tasks?status=completed", headers=auth).json()] == [task["id"]]
    reopened = client.patch(f"/api/tasks/{task['id']}", json={"completed": False}, headers=auth).json()
    assert reopened["completed"] is False
    assert client.delete(f"/api/tasks/{task['id']}", headers=auth).status_code == 204
    assert client.get("/api/tasks", headers=auth).json() == []


def test_task_errors(make_client, auth):
    client = make_client()
    missing = client.post("/api/tasks/999999/complete", headers=auth)
    assert missing.status_code == 404 and "Task 999999 not found" in missing.json()["detail"]
    assert client.delete("/api/tasks/999999", headers=auth).status_code == 404
    assert client.post("/api/tasks", json={"title": ""}, headers=auth).status_code == 422
    assert client.patch("/api/tasks/1", json={}, headers=auth).status_code == 422
    assert client.get("/api/tasks?status=someday", headers=auth).status_code == 422


def test_tasks_are_per_user(make_client, user, auth):
    client = make_client()
    mine = client.post("/api/tasks", json={"title": "mine"}, headers=auth).json()
    theirs = {"Authorization": f"Bearer {token(user + '-other')}"}
    assert client.get("/api/tasks", headers=theirs).json() == []
    assert client.delete(f"/api/tasks/{mine['id']}", headers=theirs).status_code == 404
    assert len(client.get("/api/tasks", headers=auth).json()) == 1


def test_task_service_down_is_a_clear_503(make_client, auth):
    from conftest import free_port

    client = make_client({"MCP_SERVER_URL": f"http://127.0.0.1:{free_port()}/mcp"})
    res = client.get("/api/tasks", headers=auth)
    assert res.status_code == 503
    assert "task service at http://127.0.0.1:" in res.json()["detail"]
