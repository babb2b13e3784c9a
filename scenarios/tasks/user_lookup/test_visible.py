import sqlite3

from solution import {{fn}}


def make_db():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE {{table}} (id INTEGER PRIMARY KEY, username TEXT, email TEXT)")
    conn.executemany("INSERT INTO {{table}} (username, email) VALUES (?, ?)",
                     [("{{user}}", "{{user}}@example.com"), ("dave", "dave@example.com")])
    return conn


def test_found():
    assert {{fn}}(make_db(), "{{user}}") == (1, "{{user}}", "{{user}}@example.com")


def test_missing():
    assert {{fn}}(make_db(), "mallory") is None
