"""A throwaway PostgreSQL cluster for the tests (tests/store, tests/scaleout): initdb + pg_ctl on a
unix socket (no TCP), trust auth, as the `postgres` user when the suite runs as root (postgres
refuses root). The server binaries come from Debian's `postgresql` package (the setup installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DRIVERS = ("pg8000", "psycopg")


def missing() -> str | None:
    """Why the cluster cannot start here (None when it can)."""
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    return None


@contextmanager
def cluster() -> Iterator[Path]:
    """Start a cluster; yields the folder holding its socket (`.s.PGSQL.5432`)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="agentloop-pg-"))
    if as_user:
        shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "agentloop"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "start",
                    "-o", f"-k {root} -c listen_addresses='' -F -c max_connections=200"],
                   check=True, capture_output=True)
    try:
        yield root
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def url(socket_dir: Path, database: str, driver: str = "psycopg") -> str:
    if driver == "pg8000":
        return f"postgresql+pg8000://agentloop@/{database}?unix_sock={socket_dir / '.s.PGSQL.5432'}"
    return f"postgresql+psycopg://agentloop@/{database}?host={socket_dir}"


def create_database(socket_dir: Path, driver: str = "psycopg") -> str:
    """A fresh, empty database in the cluster; returns its URL for `driver`."""
    from sqlalchemy import create_engine

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url(socket_dir, "postgres", driver), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return url(socket_dir, name, driver)
