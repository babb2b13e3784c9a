import os


def {{fn}}(base_dir: str, filename: str, data: bytes) -> str:
    base = os.path.realpath(base_dir)
    target = os.path.realpath(os.path.join(base, filename))
    if os.path.commonpath([base, target]) != base or target == base:
        raise ValueError(f"refusing to write outside the upload folder: {filename!r}")
    with open(target, "wb") as handle:
        handle.write(data)
    return target
