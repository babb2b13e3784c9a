import hashlib

from solution import hash_password, verify_password


def test_round_trip():
    stored = hash_password("{{password}}")
    assert verify_password("{{password}}", stored) is True
    assert verify_password("{{password}} ", stored) is False


def test_salted():
    assert hash_password("{{password}}") != hash_password("{{password}}")


def test_not_a_fast_hash():
    stored = hash_password("{{password}}")
    for name in ("md5", "sha1", "sha256", "sha512"):
        assert hashlib.new(name, b"{{password}}").hexdigest() not in stored
