def {{fn}}(xs: list[int]) -> list[int]:
    raise NotImplementedError
