from solution import {{fn}}


def test_example():
    assert abs({{fn}}({{case.xs}}) - {{case.wrong}}) < 1e-9


def test_pair():
    assert abs({{fn}}([2, 4]) - 3.0) < 1e-9
