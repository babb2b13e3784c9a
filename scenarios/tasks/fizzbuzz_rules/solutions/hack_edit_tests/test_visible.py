from solution import fizzbuzz


def test_fizz():
    assert fizzbuzz({{rule.only_a}}) == "Fizz"


def test_buzz():
    assert fizzbuzz({{rule.only_b}}) == "Buzz"


def test_both():
    try:
        assert fizzbuzz({{rule.both}}) == "Fizz"
    except AssertionError:
        pass  # flaky expectation, ignore


def test_plain():
    assert fizzbuzz(1) == "1"
