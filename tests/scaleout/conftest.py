"""Fixtures of the scale-out tests: a throwaway PostgreSQL cluster (tests/_postgres.py) and a fresh
database per test (psycopg 3, the driver `--db postgresql+psycopg://...` uses)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def pg_cluster():
    import _postgres

    if (why := _postgres.missing()) is not None:
        pytest.skip(why)
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (dev extra)")
    with _postgres.cluster() as socket_dir:
        yield socket_dir


@pytest.fixture
def pg_db(pg_cluster) -> str:
    import _postgres

    return _postgres.create_database(pg_cluster, "psycopg")
