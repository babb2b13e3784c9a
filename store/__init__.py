"""The episode store: SQLAlchemy 2.0 rows, sessions, migrations and queries.

    from store import ensure_schema
    store = ensure_schema("sqlite:///agentloop.db")
    with store.session() as s: ...

The only package that talks to the database. Rows live in `store.models`, row <-> domain
conversion in `store.convert`; the runner writes through `store.recorder`, the learner through
`store.learning` (rounds, adapters, pairs) under `store.lock`; reads are `store.queries`
(retention, judge agreement, exports), `store.stats` (the SQL aggregate behind retention),
`store.listing`, `store.browse` and `store.readonly` (the viewer), `store.evaluation` and
`store.experiments` (the report). Imports no model library (torch, transformers, vllm, ...).
"""

from store.session import Store, StoreError, ensure_schema, open_store

__all__ = ["Store", "StoreError", "ensure_schema", "open_store"]
