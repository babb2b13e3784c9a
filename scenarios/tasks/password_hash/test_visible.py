from solution import hash_password, verify_password


def test_round_trip():
    stored = hash_password("{{password}}")
    assert stored != "{{password}}"
    assert verify_password("{{password}}", stored)


def test_wrong_password():
    assert not verify_password("{{prefix}}-wrong", hash_password("{{password}}"))
