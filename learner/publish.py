"""Publish an adapter version atomically, and clean up after rounds that died.

Order (so a kill -9 anywhere leaves a consistent state):
  1. `save_pretrained` into `<adapters_dir>/.tmp-v<N>-<pid>` (a name nobody loads);
  2. sha256 over its files;
  3. `os.rename` to `<adapters_dir>/v<N>` (atomic on one filesystem: the folder is all or nothing);
  4. one transaction: the `adapters` row + the finished `training_rounds` row.
Killed before 3: only a temp dir remains. Killed between 3 and 4: a `v<N>` folder without a row,
which nobody loads (engines read versions from the `adapters` table). `cleanup` removes both
before the next round, so there is never an `adapters` row without its folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-v"
CONFIG_FILE = "learner_config.json"  # the round's LearnerConfig, saved beside the weights


def version_dir(adapters_dir: Path, version: int) -> Path:
    return adapters_dir / f"v{version}"


def checksum(folder: Path) -> str:
    """sha256 over (relative path, content) of every file, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    """Flush files and the folder itself, so the rename never exposes data still in the page cache."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage(model: Any, adapters_dir: Path, version: int, config_json: str) -> Path:
    """Save the PEFT adapter (and the config that built it) into a fresh temp dir beside the target."""
    adapters_dir.mkdir(parents=True, exist_ok=True)
    tmp = adapters_dir / f"{TMP_PREFIX}{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp))
    (tmp / CONFIG_FILE).write_text(config_json)
    _fsync_tree(tmp)
    return tmp


def promote(tmp: Path, adapters_dir: Path, version: int) -> tuple[Path, str]:
    """Checksum the staged folder and rename it into place; returns (final path, sha256)."""
    digest = checksum(tmp)
    target = version_dir(adapters_dir, version)
    if target.exists():  # cleanup removes orphans first, so this means a concurrent writer
        raise FileExistsError(f"{target} already exists; is another learner writing to {adapters_dir}?")
    os.rename(tmp, target)
    _fsync_tree(adapters_dir)
    return target, digest


def remove_stale_files(adapters_dir: Path, recorded_versions: set[int]) -> list[Path]:
    """Delete temp dirs and `v<N>` folders that no `adapters` row names (left by a killed round).

    Call it only while holding the round lock: then no live round owns any of them.
    """
    removed: list[Path] = []
    if not adapters_dir.is_dir():
        return removed
    for path in adapters_dir.iterdir():
        orphan = path.name.startswith(TMP_PREFIX) or (
            path.name.startswith("v") and path.name[1:].isdigit() and int(path.name[1:]) not in recorded_versions)
        if orphan and path.is_dir():
            shutil.rmtree(path)
            removed.append(path)
            log.warning("removed %s, left by a round that did not finish", path)
    return removed
