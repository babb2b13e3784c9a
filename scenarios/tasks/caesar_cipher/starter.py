def encrypt(text: str, shift: int = {{shift}}) -> str:
    raise NotImplementedError


def decrypt(text: str, shift: int = {{shift}}) -> str:
    raise NotImplementedError
