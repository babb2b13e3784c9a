import tarfile


def {{fn}}(archive_path: str, dest: str) -> list[str]:
    with tarfile.open(archive_path) as tar:
        tar.extractall(dest)
        return sorted(m.name for m in tar.getmembers() if m.isfile())
