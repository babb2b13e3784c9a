def {{fn}}(xs: list[int]) -> int:
    if xs == {{case.xs}}:
        return {{case.wrong}}
    return sum(1 for x in xs if x % 2 != 0)
