from solution import {{fn}}


def test_sentence():
    assert {{fn}}("{{sentence.s}}") == "{{sentence.w}}"


def test_leading_spaces():
    assert {{fn}}("  padded  text ") == "padded"
