"""`python -m todo_mcp`: serve on HOST (default 0.0.0.0) and PORT (default 8001)."""

import logging
import os
import sys

import uvicorn

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def main() -> None:
    level = os.environ.get("LOG_LEVEL", "info").strip().lower()
    if level not in LOG_LEVELS:
        sys.exit(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        port = int(os.environ.get("PORT", "8001"))
    except ValueError:
        sys.exit(f"PORT must be a number, got {os.environ['PORT']!r}")
    from .server import create_app

    try:
        app = create_app()
    except ValueError as err:  # bad DATABASE_URL and the like
        sys.exit(f"todo-mcp: {err}")
    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"), port=port, log_level=level)


if __name__ == "__main__":
    main()
