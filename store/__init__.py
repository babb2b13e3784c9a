"""The episode store: SQLAlchemy 2.0 rows, sessions, migrations and queries.

    from store import ensure_schema
    store = ensure_schema("sqlite:///agentloop.db")
    with store.session() as s: ...

Rows live in `store.models`, row <-> domain conversion in `store.convert`, read-side
queries in `store.queries`. Imports no model library (torch, transformers, vllm, ...).
"""

from store.session import Store, StoreError, ensure_schema, open_store

__all__ = ["Store", "StoreError", "ensure_schema", "open_store"]
