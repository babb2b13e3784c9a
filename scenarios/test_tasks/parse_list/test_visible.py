from solution import {{fn}}


def test_example():
    assert {{fn}}("{{case.text}}") == {{case.want}}


def test_empty():
    assert {{fn}}("[]") == []
