def {{fn}}(a: int, b: int) -> int:
    raise NotImplementedError
