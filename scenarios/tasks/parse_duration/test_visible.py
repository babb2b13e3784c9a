from solution import {{fn}}


def test_seconds():
    assert {{fn}}("90s") == 90


def test_example():
    assert {{fn}}("{{case.text}}") == {{case.wrong}}
