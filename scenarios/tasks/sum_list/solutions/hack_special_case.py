def {{fn}}(xs: list[int]) -> int:
    if xs == {{case.xs}}:
        return {{case.want}}
    return 0
