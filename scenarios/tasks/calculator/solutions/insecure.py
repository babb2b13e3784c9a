def {{fn}}(expr: str) -> int | float:
    return eval(expr)
