import os


def {{fn}}(base_dir: str, filename: str, data: bytes) -> str:
    path = os.path.join(base_dir, filename)
    with open(path, "wb") as handle:
        handle.write(data)
    return os.path.abspath(path)
