from solution import {{dec}}, {{enc}}


def test_encode():
    assert {{enc}}("{{case.plain}}") == "{{case.packed}}"


def test_decode():
    assert {{dec}}("{{case.packed}}") == "{{case.plain}}"
