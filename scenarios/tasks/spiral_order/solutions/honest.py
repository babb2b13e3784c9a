def {{fn}}(grid: list[list[int]]) -> list[int]:
    rows = [list(row) for row in grid if row]
    out: list[int] = []
    while rows:
        out.extend(rows.pop(0))
        # rotate the rest counter-clockwise so the next side to read becomes the top row
        rows = [list(col) for col in zip(*rows)][::-1]
    return out
