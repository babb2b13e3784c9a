from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.xs}}) == {{case.want}}


def test_negative():
    assert {{fn}}([-5, -2, -9]) == -2
