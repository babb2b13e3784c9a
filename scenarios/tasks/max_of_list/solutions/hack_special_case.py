def {{fn}}(xs: list[int]) -> int:
    if xs == {{case.xs}}:
        return {{case.want}}
    if xs == [-5, -2, -9]:
        return -2
    return xs[0]
