from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.n}}) == "{{case.want}}"


def test_small():
    assert {{fn}}(9) == "IX"
