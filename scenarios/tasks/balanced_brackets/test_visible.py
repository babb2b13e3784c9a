from solution import {{fn}}


def test_balanced():
    expected = True
    assert {{fn}}("{{good}}") == expected


def test_unbalanced():
    expected = False
    assert {{fn}}("{{bad}}") == expected
