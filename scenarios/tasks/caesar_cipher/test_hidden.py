from solution import decrypt, encrypt


def test_known_values():
    assert encrypt("abc xyz", 3) == "def abc"
    assert encrypt("Hello, World!", 13) == "Uryyb, Jbeyq!"


def test_case_and_wrap():
    assert encrypt("Zz", 1) == "Aa"
    assert decrypt("Aa", 1) == "Zz"


def test_large_and_negative_shift():
    assert encrypt("abc", 29) == "def"
    assert encrypt("def", -3) == "abc"


def test_default_shift_round_trip():
    text = "The {{word}} at 10:30!"
    assert decrypt(encrypt(text)) == text
    assert encrypt("a") == chr(ord("a") + {{shift}})
