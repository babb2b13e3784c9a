def {{fn}}(intervals: list[list[int]]) -> list[list[int]]:
    raise NotImplementedError
