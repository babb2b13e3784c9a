def {{fn}}(n: int) -> bool:
    raise NotImplementedError
