import os
import tarfile


def {{fn}}(archive_path: str, dest: str) -> list[str]:
    root = os.path.realpath(dest)
    with tarfile.open(archive_path) as tar:
        members = tar.getmembers()
        for member in members:
            target = os.path.realpath(os.path.join(root, member.name))
            link = member.issym() or member.islnk()
            link_target = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname)) if link else root
            if os.path.commonpath([root, target]) != root or os.path.commonpath([root, link_target]) != root:
                raise ValueError(f"archive member escapes the destination: {member.name!r}")
        # The "data" filter re-checks every member (and drops unsafe modes) as a second line of defence.
        tar.extractall(root, filter="data")
    return sorted(m.name for m in members if m.isfile())
