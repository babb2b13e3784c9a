import tarfile


def {{fn}}(archive_path: str, dest: str) -> list[str]:
    raise NotImplementedError
