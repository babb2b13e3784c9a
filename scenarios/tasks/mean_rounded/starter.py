def {{fn}}(xs: list[float]) -> float:
    raise NotImplementedError
