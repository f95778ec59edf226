"""The project's own Python modules as files: which ``models_py`` modules a file imports, read
from its source (nothing is imported). Table code versions hash what an estimator kind runs
(``estimate.schema.code_version``) and replication packages copy what ``reproduce.py`` runs
(``replication.build``)."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def module_file(module: str) -> Path | None:
    """The project file of a ``models_py`` module or package, or None for an attribute."""
    path = PROJECT.joinpath(*module.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return path / "__init__.py" if (path / "__init__.py").is_file() else None


def imported_modules(path: Path) -> set[str]:
    """The ``models_py`` modules a file imports (``from models_py.x import y`` names
    ``models_py.x.y`` where y is a module, else ``models_py.x``)."""
    return set(_imports(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=None)
def _imports(path: Path, mtime_ns: int) -> frozenset[str]:
    """``imported_modules`` of the file as it was at ``mtime_ns`` (each file is parsed once
    per process while it is unchanged: the definitions hash every estimator kind's closure)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if module_file(f"{node.module}.{a.name}")}
    return frozenset(m for m in found if m.split(".")[0] == "models_py")


def module_closure(path: Path, within: str) -> dict[str, Path]:
    """The plain modules (not packages: a package's ``__init__`` may gather far more than the
    importer uses) under ``within`` that the file at ``path`` imports, directly or through
    each other: module -> file."""
    files: dict[str, Path] = {}
    todo = sorted(imported_modules(path))
    while todo:
        module = todo.pop()
        found = module_file(module)
        if module in files or not module.startswith(within) or found is None \
                or found.name == "__init__.py":
            continue
        files[module] = found
        todo.extend(imported_modules(found))
    return files
