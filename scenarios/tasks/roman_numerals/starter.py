def {{fn}}(n: int) -> str:
    """The Roman numeral of n (1..3999)."""
    raise NotImplementedError
