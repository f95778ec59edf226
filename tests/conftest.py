"""Shared fixtures: the small embedded default, generated once per session."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def small_default(tmp_path_factory) -> tuple[Path, dict]:
    """The small embedded default (raw folder, truth), generated once per test session."""
    from models_py.generate import generate

    base = tmp_path_factory.mktemp("small_default")
    generate(base / "raw", base / "truth.json", scale="small")
    return base / "raw", json.loads((base / "truth.json").read_text(encoding="utf-8"))
