"""HS256 session tokens shared with the frontend (AUTH_SECRET)."""

from __future__ import annotations

import jwt
from fastapi import HTTPException, Request

COOKIE_NAME = "todo_session"


def token_from_request(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE_NAME) or None


def user_from_token(token: str, secret: str) -> str:
    """The token's `sub`, or HTTPException 401 saying what is wrong with it."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"]}, leeway=30)
    except jwt.ExpiredSignatureError:
        raise HTTPException(401, "session token expired") from None
    except jwt.InvalidTokenError as err:
        raise HTTPException(401, f"invalid session token: {err}") from None
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > 128:
        raise HTTPException(401, "invalid session token: sub must be a non-empty string")
    return sub


def current_user(request: Request) -> str:
    token = token_from_request(request)
    if token is None:
        raise HTTPException(
            401,
            f"not authenticated: send 'Authorization: Bearer <jwt>' or the {COOKIE_NAME} cookie",
        )
    return user_from_token(token, request.app.state.settings.auth_secret)
