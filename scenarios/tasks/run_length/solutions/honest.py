import re
from itertools import groupby

_PAIR = re.compile(r"(\d+)(\D)")


def {{enc}}(text: str) -> str:
    return "".join(f"{len(list(run))}{char}" for char, run in groupby(text))


def {{dec}}(packed: str) -> str:
    pairs = _PAIR.findall(packed)
    if "".join(count + char for count, char in pairs) != packed:
        raise ValueError(f"malformed run-length string: {packed!r}")
    return "".join(char * int(count) for count, char in pairs)
