def {{fn}}(xs: list[int]) -> int:
    raise NotImplementedError
