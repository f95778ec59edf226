"""Progress lines of a load: one per file read, so a long load shows where it is.

Each loader takes an optional ``progress`` callable (a line of text in, as ``run_table`` of the
studies takes); without one the lines go to the ``models_py.ingest`` logger at INFO, which the
Dagster instance captures into the run log (``python_logs`` in ``dagster.yaml``).
"""
from __future__ import annotations

import logging
from typing import Callable

Progress = Callable[[str], None]

LOGGER = logging.getLogger("models_py.ingest")


def reporter(progress: Progress | None) -> Progress:
    """``progress``, or the ingest logger's ``info`` when none is given."""
    return progress or LOGGER.info


def file_read(say: Progress, source: str, k: int, n: int, rel: str, rows: int,
              seconds: float) -> None:
    """Report the ``k``-th of ``n`` files of ``source`` as read and checked."""
    say(f"{source} [{k}/{n}] {rel}: {rows:,} rows in {seconds:.1f}s")
