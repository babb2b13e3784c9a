from solution import {{fn}}


def test_word():
    assert {{fn}}("{{word.w}}") == "{{word.r}}"


def test_sentence():
    assert {{fn}}("ab c") == "c ba"
