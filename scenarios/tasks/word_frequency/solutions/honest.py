import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


def {{fn}}(text: str, k: int = {{k}}) -> list[tuple[str, int]]:
    if k <= 0:
        return []
    counts = Counter(word.lower() for word in _WORD.findall(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:k]
