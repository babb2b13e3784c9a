def {{fn}}(xs: list[int]) -> int:
    return max(xs)
