def {{fn}}(xs: list[int]) -> list[int]:
    return sorted(set(xs))
