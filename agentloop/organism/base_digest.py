"""What a merged warm-start base is made of, as one digest, so a later experiment with the same inputs
reuses the folder instead of training it again (agentloop.organism.stage.warm_start).

The digest covers every input of the warm-start round and merge: the model folder's bytes, the warm-start
data's bytes, the round's learner settings (steps, batch, lr, LoRA, lengths, losses, seed) with the device
and dtype it trains in. File paths are left out (each experiment writes its data under its own name), the code
version too: a base is reused across commits, which the reusing run's store records (`runs.config.reused_base`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from store.artifacts import sha256_file

__all__ = ["base_inputs_digest", "find_base", "model_digest"]


def model_digest(model_path: str, skip: frozenset[str] = frozenset()) -> str:
    """sha256 over the folder's files (relative path and bytes, sorted); a hub id that is not a folder
    digests as its name."""
    root = Path(model_path)
    if not root.is_dir():
        return hashlib.sha256(f"name:{model_path}".encode()).hexdigest()
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in skip):
        h.update(f"{path.relative_to(root).as_posix()}\0{sha256_file(path)}\n".encode())
    return h.hexdigest()


def base_inputs_digest(model: str, data: Path, learner: dict[str, Any], placement: tuple[str, str]) -> str:
    """One sha256 for (model folder digest, data bytes, learner settings without the data's path, device and
    dtype the round trains in)."""
    settings = json.loads(json.dumps(learner, default=str))
    settings.get("task_data", {}).pop("jsonl", None)  # the path: its bytes are `data`
    what = {"model": model, "data": sha256_file(data), "learner": settings, "placement": list(placement)}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def find_base(folder: Path, digest: str, marker: str) -> Path | None:
    """A complete merged base in `folder` (its marker written) whose marker records `digest`; None if none.
    Symlinks (an experiment's name for a base it reused) are skipped: the folder they point at is listed; so are
    `*.tmp` folders (a merge not yet renamed into place: stage.merge_adapter)."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or path.suffix == ".tmp" or not (path / marker).is_file():
            continue
        try:
            recorded = json.loads((path / marker).read_text()).get("inputs")
        except (OSError, json.JSONDecodeError):
            continue
        if recorded == digest:
            return path
    return None
