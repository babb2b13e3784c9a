def {{fn}}(xs: list[int]) -> list[int]:
    return sorted(xs, reverse=True)
