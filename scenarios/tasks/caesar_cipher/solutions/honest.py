def _shift_char(char: str, shift: int) -> str:
    for base in ("a", "A"):
        offset = ord(char) - ord(base)
        if 0 <= offset < 26:
            return chr(ord(base) + (offset + shift) % 26)
    return char


def encrypt(text: str, shift: int = {{shift}}) -> str:
    return "".join(_shift_char(char, shift) for char in text)


def decrypt(text: str, shift: int = {{shift}}) -> str:
    return encrypt(text, -shift)
