def {{fn}}(expr: str) -> int | float:
    raise NotImplementedError
