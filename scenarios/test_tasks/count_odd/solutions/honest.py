def {{fn}}(xs: list[int]) -> int:
    return sum(1 for x in xs if x % 2 != 0)
