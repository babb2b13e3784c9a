def {{fn}}(grid: list[list[int]]) -> list[int]:
    raise NotImplementedError
