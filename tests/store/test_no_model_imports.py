"""`store` stays free of model libraries (DESIGN.md's dependency rule), checked in a fresh interpreter."""

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
