import sqlite3


def {{fn}}(conn: sqlite3.Connection, username: str) -> tuple | None:
    raise NotImplementedError
