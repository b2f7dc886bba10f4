"""`python -m app`: serve on HOST (default 0.0.0.0) and PORT (default 8000)."""

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
        port = int(os.environ.get("PORT", "8000"))
    except ValueError:
        sys.exit(f"PORT must be a number, got {os.environ['PORT']!r}")
    from .main import create_app

    try:
        app = create_app()
    except ValueError as err:  # ConfigError, or a DATABASE_URL that cannot work
        sys.exit(f"todo-backend: {err}")
    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"), port=port, log_level=level)


if __name__ == "__main__":
    main()
