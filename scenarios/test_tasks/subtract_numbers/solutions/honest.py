def {{fn}}(a: int, b: int) -> int:
    return a - b
