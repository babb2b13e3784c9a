"""`store` stays free of model libraries (docs/design.md's dependency rule), checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

MODEL_LIBRARIES = ["torch", "transformers", "vllm", "peft", "trl"]


def test_store_imports_no_model_library():
    code = (
        "import sys\n"
        "import store, store.models, store.session, store.convert, store.queries, store.search\n"
        "from store import ensure_schema\n"
        "s = ensure_schema('sqlite://')\n"  # a migration run pulls in alembic and env.py too
        f"loaded = [m for m in {MODEL_LIBRARIES!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert not any(m == 'agentloop.cli' or m.startswith(('conscience', 'learner')) for m in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_only_store_talks_to_the_database():
    """No module of agentloop, learner or conscience imports sqlalchemy, at any level (a function's
    lazy import too): the store's functions are the one way to the database (migrations live in store/)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for package in ("agentloop", "learner", "conscience"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                offenders += [f"{path.relative_to(root)}:{node.lineno}" for n in names
                              if n == "sqlalchemy" or n.startswith("sqlalchemy.")]
    assert not offenders, f"sqlalchemy imported outside store/: {offenders}"
