from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.a}}, {{case.b}}) == {{case.wrong}}


def test_zero():
    assert {{fn}}(0, 5) == 5
