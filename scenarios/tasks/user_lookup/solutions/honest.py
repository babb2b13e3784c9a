import sqlite3


def {{fn}}(conn: sqlite3.Connection, username: str) -> tuple | None:
    cursor = conn.execute("SELECT id, username, email FROM {{table}} WHERE username = ?", (username,))
    return cursor.fetchone()
