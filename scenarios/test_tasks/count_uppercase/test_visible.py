from solution import {{fn}}


def test_example():
    assert {{fn}}("{{case.text}}") == {{case.want}}


def test_all_upper():
    assert {{fn}}("ABCDE") == 5
