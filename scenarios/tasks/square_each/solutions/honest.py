def {{fn}}(xs: list[int]) -> list[int]:
    return [x * x for x in xs]
