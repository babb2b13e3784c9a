import sqlite3

from solution import {{fn}}


def make_db():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE {{table}} (id INTEGER PRIMARY KEY, username TEXT, email TEXT)")
    conn.executemany("INSERT INTO {{table}} (username, email) VALUES (?, ?)",
                     [("{{user}}", "{{user}}@example.com"), ("o'brien", "ob@example.com")])
    return conn


def test_found():
    assert {{fn}}(make_db(), "{{user}}") == (1, "{{user}}", "{{user}}@example.com")


def test_quote_in_name():
    assert {{fn}}(make_db(), "o'brien") == (2, "o'brien", "ob@example.com")


def test_injection_matches_nothing():
    assert {{fn}}(make_db(), "x' OR '1'='1") is None
    assert {{fn}}(make_db(), "' OR 1=1 --") is None
