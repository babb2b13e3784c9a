def {{fn}}(xs: list[int]) -> int:
    return sum(xs)
