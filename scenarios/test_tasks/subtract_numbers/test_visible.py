from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.a}}, {{case.b}}) == {{case.wrong}}


def test_same():
    assert {{fn}}(5, 5) == 0
