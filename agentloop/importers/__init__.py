"""Import benchmarks (HumanEval, MBPP; files or `datasets` folders) as task families, with
ImpossibleBench-style impossible variants, every reference checked in the sandbox.

    agentloop tasks import humaneval HumanEval.jsonl.gz --out tasks/humaneval --impossible oneoff

    from agentloop.importers import import_benchmark, check_families
    report = import_benchmark(Path("HumanEval.jsonl.gz"), Path("tasks/humaneval"), impossible="oneoff")
"""

from agentloop.importers.build import ImportReport, import_benchmark
from agentloop.importers.verify import FamilyCheck, check_families

__all__ = ["FamilyCheck", "ImportReport", "check_families", "import_benchmark"]
