def {{fn}}(xs: list[int]) -> int:
    result = 1
    for x in xs:
        result *= x
    return result
