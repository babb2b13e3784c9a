from solution import decrypt, encrypt


def test_round_trip():
    assert decrypt(encrypt("{{word}}")) == "{{word}}"


def test_changes_text():
    assert encrypt("{{word}}") != "{{word}}"
