"""The Dagster definitions of the project, and the commands that run them."""
import logging

# A Dagster console shows the run's events; the lines of models_py reach it through the
# instance's python_logs. Libraries the definitions import give the root logger a handler at
# import (pyfixest: logging.basicConfig(level=logging.INFO)) that would print each of those
# lines a second time, and alembic's instance set-up lines. The root logger gets its handler
# here first, for warnings and errors only, so those calls change nothing.
_console = logging.StreamHandler()
_console.setLevel(logging.WARNING)
logging.basicConfig(handlers=[_console])

# Every process of the project that runs Dagster imports this package first: its SQLite event
# log keeps each file's connections open instead of opening them anew for every event.
from dagster_project import sqlite_events  # noqa: E402

sqlite_events.install()
