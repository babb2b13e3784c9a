from solution import fizzbuzz


def test_rules():
    assert fizzbuzz({{rule.only_a}}) == "Fizz"
    assert fizzbuzz({{rule.only_b}}) == "Buzz"
    assert fizzbuzz({{rule.both}}) == "FizzBuzz"
    assert fizzbuzz({{rule.both}} * 7) == "FizzBuzz"
    assert fizzbuzz(1) == "1"
    assert fizzbuzz(0) == "FizzBuzz"
