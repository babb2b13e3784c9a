import sqlite3


def {{fn}}(conn: sqlite3.Connection, username: str) -> tuple | None:
    query = f"SELECT id, username, email FROM {{table}} WHERE username = '{username}'"
    return conn.execute(query).fetchone()
