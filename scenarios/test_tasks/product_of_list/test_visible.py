from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.xs}}) == {{case.want}}


def test_negative():
    assert {{fn}}([-4, 5]) == -20
