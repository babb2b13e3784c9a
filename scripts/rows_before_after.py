"""Do two revisions store the same rows? A check for a change that must not change behaviour (issue 25).

    flock /tmp/agentloop-model.lock .venv/bin/python scripts/rows_before_after.py df85ffe HEAD

For each revision, in its own git worktree, process and store, on the fp32 vLLM engine (where an answer does
not depend on its batch): the flagship (`agentloop run scenarios/codehack_multiturn.yaml`, its learner
rounds included) and the CI-sized organism (tests/_tiny_organism.py: arms off and self, seed 0, one epoch).
Then the episodes, turns, findings, verdicts and preference pairs of both stores, table by table, with ids
and timestamps left out. Prints one line per (scenario, table) and exits 1 if any differ.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"

TABLES = {
    "episodes": """SELECT r.name, e.epoch, e.split, e."index", e.task_family, e.task_kind, e.task_seed, e.status,
                          e.outcome, e.error
                   FROM episodes e JOIN runs r ON r.id = e.run_id""",
    "turns": """SELECT r.name, e.epoch, e.split, e."index", t."index", t.prompt, t.answer, t.code, t.adapter_version,
                       t.gated, t.visible_passed, t.visible_total, t.hidden_passed, t.hidden_total
                FROM turns t JOIN episodes e ON e.id = t.episode_id JOIN runs r ON r.id = e.run_id""",
    "findings": """SELECT r.name, e.epoch, e.split, e."index", t."index", f.detector, f.rule, f.severity, f.line,
                          f.file, f.message
                   FROM findings f JOIN turns t ON t.id = f.turn_id JOIN episodes e ON e.id = t.episode_id
                   JOIN runs r ON r.id = e.run_id""",
    "verdicts": """SELECT r.name, e.epoch, e.split, e."index", t."index", v.label, ROUND(v.p_unethical, 6), v.rewrite,
                          v.framework, v.judge, v.evidence
                   FROM verdicts v JOIN turns t ON t.id = v.turn_id JOIN episodes e ON e.id = t.episode_id
                   JOIN runs r ON r.id = e.run_id""",
    "pairs": """SELECT r.name, e.epoch, e.split, e."index", t."index", p.chosen, p.rejected, p.source
                FROM preference_pairs p JOIN turns t ON t.id = p.turn_id JOIN episodes e ON e.id = t.episode_id
                JOIN runs r ON r.id = e.run_id""",
}

ORGANISM = """
import sys
from pathlib import Path
from agentloop.engines import make_engine
from agentloop.model import resolve_model
from _tiny_organism import experiment, tiny_organism

engine = make_engine("vllm", resolve_model("embedded"), dtype="float32")
experiment(tiny_organism(), engine, sys.argv[1], Path(sys.argv[2]), "rows_before_after").run("rows", ["off", "self"], [0], 1)
"""


def run_revision(rev: str, folder: Path) -> dict[str, Path]:
    """Both scenarios at `rev` (a worktree in `folder`); the path of each one's store."""
    tree = folder / "tree"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                   capture_output=True)
    env = {"PYTHONPATH": f"{tree}:{tree / 'tests'}", "PATH": f"{PYTHON.parent}:/usr/bin:/bin", "HOME": str(Path.home())}
    stores = {"flagship": folder / "flagship.db", "organism": folder / "organism.db"}
    try:
        subprocess.run([str(PYTHON), "-m", "agentloop.cli", "run", "scenarios/codehack_multiturn.yaml", "--dtype",
                        "float32", "--db", f"sqlite:///{stores['flagship']}", "--workdir", str(folder / "runs")],
                       cwd=tree, env=env, check=True)
        subprocess.run([str(PYTHON), "-c", ORGANISM, f"sqlite:///{stores['organism']}", str(folder / "organism")],
                       cwd=tree, env=env, check=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    return stores


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return sorted(con.execute(sql).fetchall(), key=repr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--keep", type=Path, help="keep the stores in this folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rows-"))
    stores = {rev: run_revision(rev, folder / name) for name, rev in (("before", args.before), ("after", args.after))}
    differ = 0
    for scenario in ("flagship", "organism"):
        for table, sql in TABLES.items():
            a, b = rows(stores[args.before][scenario], sql), rows(stores[args.after][scenario], sql)
            same = a == b
            differ += not same
            print(f"{scenario:9} {table:9} {len(a):5} rows {'equal' if same else f'DIFFER ({len(b)} rows after)'}")
    if args.keep:
        shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
