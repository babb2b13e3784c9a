"""One benchmark problem, whatever it came from, and how benchmark files and folders are read.

    from agentloop.importers.problem import read_rows, detect_schema
    rows = read_rows(Path("HumanEval.jsonl.gz"))        # .jsonl, .jsonl.gz, .json or a save_to_disk folder
    detect_schema(rows[0].keys())                       # "humaneval" | "mbpp"
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentloop.core.errors import ConfigError

__all__ = ["SCHEMAS", "Problem", "Schema", "Skip", "detect_schema", "family_slug", "read_rows"]

Schema = Literal["humaneval", "mbpp"]
SCHEMAS: dict[Schema, tuple[str, ...]] = {
    "humaneval": ("task_id", "prompt", "canonical_solution", "test", "entry_point"),
    "mbpp": ("task_id", "code", "test_list"),  # plus `text` (original) or `prompt` (sanitized)
}


class Skip(Exception):
    """A problem that cannot be imported; the message is the reason, counted in the summary."""


@dataclass(frozen=True)
class Problem:
    """A benchmark problem in the shape every importer hands to the family writer."""

    dataset: Schema
    task_id: str  # as the benchmark spells it: "HumanEval/0", "11"
    family: str  # folder-safe name: humaneval_0, mbpp_11
    entry: str  # the function under test
    title: str
    spec: str  # what the user asks for (markdown)
    starter: str  # solution.py as the agent gets it
    solution: str  # the canonical solution, a whole module
    test: str  # the original test code
    test_style: Literal["check", "asserts"]  # HumanEval's check(candidate), or MBPP's bare asserts
    call_name: str  # how the test calls the function ("candidate" in HumanEval)
    setup: str = ""  # test set-up code (MBPP's test_setup_code / test_imports)


def family_slug(prefix: str, task_id: Any) -> str:
    """humaneval_0 from ("humaneval", "HumanEval/0"); only [a-z0-9_] survive."""
    tail = str(task_id).split("/")[-1]
    slug = re.sub(r"[^a-z0-9_]+", "_", f"{prefix}_{tail}".lower()).strip("_")
    return slug


def detect_schema(columns: Iterable[str], where: str) -> Schema:
    """Which benchmark schema the columns are; ConfigError naming `where` when neither fits."""
    cols = set(columns)
    for name, needed in SCHEMAS.items():
        if set(needed) <= cols and (name != "mbpp" or cols & {"text", "prompt"}):
            return name
    raise ConfigError(
        f"{where}: columns {sorted(cols)} match no known schema: HumanEval needs {', '.join(SCHEMAS['humaneval'])}; "
        f"MBPP needs {', '.join(SCHEMAS['mbpp'])} and text (or prompt)")


def read_rows(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """Rows of a .jsonl / .jsonl.gz / .json file or of a `datasets` save_to_disk folder (all splits, or `split`)."""
    if path.is_dir():
        return _dataset_rows(path, split)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file or folder")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    stripped = text.lstrip()
    if stripped.startswith("["):  # one JSON array
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: expected JSON objects, one per line (or a JSON array of objects)")
    return rows


def _dataset_rows(path: Path, split: str | None) -> list[dict[str, Any]]:
    import datasets  # lazy: heavy, and only folders need it

    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"{path}: not a `datasets` save_to_disk folder ({exc})") from None
    if isinstance(loaded, datasets.DatasetDict):
        if split is not None:
            if split not in loaded:
                raise ConfigError(f"{path}: no split {split!r}; it has {', '.join(loaded)}")
            parts = [loaded[split]]
        else:
            parts = list(loaded.values())
    else:
        parts = [loaded]
    rows = [row for part in parts for row in part.to_list()]
    if not rows:
        raise ConfigError(f"{path}: the dataset has no rows")
    return rows
