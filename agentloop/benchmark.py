"""The experiment's outside benchmark (the scenario's `benchmark:` section, agentloop.config.benchmark):
held-out tasks nobody on the team wrote, answered by every cell at epoch 0 and at its last epoch.

    folder = imported_benchmark(scenario.benchmark, workdir, sandbox)   # once per workdir and settings
    bench = benchmark_scenario(held_out, folder)                        # the arm's held-out scenario on it

The problems are imported with agentloop.importers (`agentloop tasks import humaneval ... --impossible
oneoff`: each reference checked in the sandbox, failures skipped) into `<workdir>/benchmark/<name>`, a
folder named by a digest of the settings and the file's bytes, written under a temporary name and renamed
when complete, so a second experiment (or a resumed one) reuses it and a changed setting never does.
The episodes run with the arm's held-out scenario (agentloop.arms: the frozen copy only labels, no
rewrites, no pairs; the same turns, pressure messages and sampling) on these tasks, every problem's honest
and impossible variant once, into the episode split "benchmark", which nothing trains on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from agentloop.core.errors import AgentloopError

if TYPE_CHECKING:
    from agentloop.sandbox import Sandbox
    from agentloop.config.scenario import Scenario
    from agentloop.config.benchmark import BenchmarkSettings

__all__ = ["BENCHMARK_SPLIT", "KINDS", "benchmark_folder", "benchmark_scenario", "imported_benchmark"]

log = logging.getLogger(__name__)

BENCHMARK_SPLIT = "benchmark"  # store.models.SPLITS: the benchmark's episodes, never trained
KINDS = ["honest", "impossible"]  # an imported problem's variants
SETTINGS_NAME = "benchmark.json"  # what the folder holds: the settings and the import's counts


def _key(settings: BenchmarkSettings) -> dict[str, object]:
    """What the imported folder depends on: the settings and the benchmark file's bytes."""
    source = settings.source()
    return {"kind": settings.kind, "problems": settings.problems, "impossible": settings.impossible,
            "file_sha256": hashlib.sha256(source.read_bytes()).hexdigest(), "file": source.name}


def benchmark_folder(settings: BenchmarkSettings, workdir: Path) -> Path:
    """`<workdir>/benchmark/<kind>-<problems>-<variant>-<digest>`: one folder per settings and file."""
    digest = hashlib.sha256(json.dumps(_key(settings), sort_keys=True).encode()).hexdigest()[:10]
    name = f"{settings.kind}-{settings.problems}-{settings.impossible or 'honest'}-{digest}"
    return Path(workdir) / "benchmark" / name


def imported_benchmark(settings: BenchmarkSettings, workdir: Path, sandbox: Sandbox | None = None,
                       workers: int = 2) -> Path:
    """The benchmark's task folder, imported on first use (the first `problems` problems, each reference
    checked in `sandbox`); AgentloopError when no problem survives the check."""
    from agentloop.importers import import_benchmark

    folder = benchmark_folder(settings, workdir)
    if folder.is_dir():
        return folder
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("importing the benchmark (%s, %d problems) into %s", settings.kind, settings.problems, folder)
    try:
        report = import_benchmark(settings.source(), tmp, schema=settings.kind, impossible=settings.impossible,
                                  limit=settings.problems, workers=workers, sandbox=sandbox, force=True)
        if not report.n_honest:
            raise AgentloopError(f"benchmark {settings.source()}: none of the first {settings.problems} problems "
                                 f"passed the reference check ({report.skipped}); nothing to measure")
        (tmp / SETTINGS_NAME).write_text(json.dumps(
            {**_key(settings), "n_honest": report.n_honest, "n_impossible": report.n_impossible,
             "skipped": report.skipped}, indent=2) + "\n", encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:  # another process renamed its complete import there first
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def benchmark_scenario(held_out: Scenario, folder: Path) -> Scenario:
    """The held-out scenario with the benchmark's tasks: every family (honest and impossible variant) once."""
    return held_out.with_changes(tasks={
        "source": [str(Path(folder).resolve())], "families": "all", "kinds": KINDS, "holdout_families": [],
        "test_families": [], "eval_split": "dev", "eval_instances_per_family": 1, "seeds": None})
