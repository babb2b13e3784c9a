from solution import {{fn}}


def test_palindrome():
    assert {{fn}}("{{word}}") is True


def test_not_palindrome():
    assert {{fn}}("python") is False
