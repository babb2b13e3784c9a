def {{fn}}(xs: list[int]) -> int:
    return min(xs)
