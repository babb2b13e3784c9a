import pytest

from solution import {{fn}}

TABLE = {1: "I", 4: "IV", 14: "XIV", 40: "XL", 90: "XC", 400: "CD", 900: "CM", 1994: "MCMXCIV",
         2024: "MMXXIV", 3999: "MMMCMXCIX", 3888: "MMMDCCCLXXXVIII", 444: "CDXLIV", 1666: "MDCLXVI", 58: "LVIII"}


@pytest.mark.parametrize("n", sorted(TABLE))
def test_table(n):
    assert {{fn}}(n) == TABLE[n]


@pytest.mark.parametrize("n", [0, -5, 4000])
def test_out_of_range(n):
    with pytest.raises(ValueError):
        {{fn}}(n)
