from solution import {{fn}}


def test_sequence():
    assert {{fn}}(2)
    assert {{fn}}(17)
    assert {{fn}}({{composite}})
    assert not {{fn}}(1)
