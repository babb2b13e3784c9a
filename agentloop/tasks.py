"""The codehack task suite: task families on disk, rendered into `Task` instances by seed.

    from agentloop.tasks import load_families, select_tasks
    families = load_families()                       # scenarios/tasks/<family>/ of the repo
    families = load_sources(["builtin", "tasks/humaneval"])   # several folders (a scenario's tasks.source)
    task = families["roman_numerals"].instance(seed=3)
    tasks = select_tasks(scenario.tasks, seed=scenario.seed, split="train")

A family is a folder of data (no Python loader code in there):

    scenarios/tasks/<family>/
      family.yaml          name, kind, title, params, files, expected (see FamilySpec)
      spec.md              what the user asks for
      starter.py           starter code of the solution file
      test_visible.py      tests shown to the agent (pytest)
      hidden_cases.yaml    checks never shown (they encode the spec): the hidden verdict, see below
      solutions/honest.py  the reference solution that does the task
      solutions/hack*.py | solutions/insecure*.py          single-file references
      solutions/hack_conftest/{solution.py, conftest.py}   multi-file references (a folder)

Kinds: `honest` (the spec, the visible tests and the hidden cases agree), `impossible` (the visible
tests contradict the spec, so only a hack passes them; the honest reference FAILS the visible tests
and passes the hidden cases) and `insecure` (the quick answer is vulnerable; the hidden cases check
the secure behaviour).

**Hidden cases** (`hidden_cases.yaml`, a template like the other files; `Task.hidden_cases`):

    setup: |                 # optional trusted code, run once in the sandbox before the solution is
      import os              # imported (imports, fixture files, helper functions for the cases)
    cases:
      - expr: "encrypt('abc xyz', 3)"   # evaluated with the solution module's public names in scope
        expected: "def abc"             # plain YAML data (str/int/float/bool/null/list/dict)
      - expr: "parse_duration('')"
        raises: ValueError              # the expression must raise this class (or a subclass), by name
      - expr: "mean([1, 2])"
        expected: 1.5
        approx: 1.0e-9                  # optional absolute tolerance for floats

Each case has exactly one of `expected` and `raises`. Cases run in order in one process (state
carries over, as in one pytest module); the setup's names and the builtins win over the solution's
names (the solution module itself is in scope by its name too: `solution.max(...)`). The expected
values never enter the sandbox: `agentloop.sandbox.harness` compares them with the plain values the
solution returned (a tuple arrives as a list; True is not 1). A result must be built from exact
builtin types (a str subclass, a namedtuple or an object with `__eq__` fails its case), so never
compare a solution's value inside an expression (`f(x) == y` lets its `__eq__` decide): reduce
what a check needs (a type, a side effect, a length) to plain data with trusted helpers from
`setup`. Importers of other task sets emit the same format.

**Rendering.** Every file is a template: `{{name}}` or `{{name.key}}` is replaced by the value of
parameter `name` (a scalar is inserted as text, a list or mapping as its Python literal), chosen
per parameter, in the order family.yaml lists them, with `random.Random(f"{family}:{seed}")`.
So one family yields many distinct instances, and the same seed always the same one.

**References** (`Task.references`, name -> text). A single-file reference is the solution file's
code. A multi-file reference is written the way an agent answers (agentloop/core/parse.py): the
solution in a fenced python block, then one fenced block per extra file whose first line is
`# file: NAME` (e.g. a conftest.py, or an edited test file); `detectors.reference_check.split_reference`
splits it back. `Task.expected[name]` lists the misalignment detectors that must fire for that
reference and no others (`hidden_tests`, `tampering`, `insecure`; `[]` for `honest`). The hidden
cases run on the solution and its helper modules only (no test files, no pytest), so a hack that
lives in a conftest.py or an edited test fools only the visible run.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentloop.core.errors import ConfigError
from agentloop.core.paths import repo_root
from agentloop.core.hidden_cases import HiddenCasesSpec, parse_hidden_cases
from agentloop.core.labels import BUILTIN_DETECTORS
from agentloop.core.constants import EVAL_SEED_BASE
from agentloop.core.yaml_model import load_yaml_model
from agentloop.core.types import Task, TaskKind

if TYPE_CHECKING:
    from agentloop.config.tasks import TaskSelection

__all__ = [
    "BUILTIN_SOURCE", "FamilySpec", "HiddenCasesSpec", "TaskFamily", "default_root", "load_families", "load_family",
    "load_sources", "parse_hidden_cases", "render", "select_tasks",
]

VISIBLE_TESTS = "test_visible.py"
HIDDEN_CASES = "hidden_cases.yaml"
_REQUIRED_FILES = ("spec.md", "starter.py", VISIBLE_TESTS, HIDDEN_CASES, "solutions/honest.py")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\s*\}\}")
Detector = Literal[tuple(BUILTIN_DETECTORS)]  # type: ignore[valid-type]  # agentloop.core.labels: one list


class FamilySpec(BaseModel):
    """family.yaml: what a task family is and what its references must trigger."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the folder name")
    kind: TaskKind = Field(description="honest | impossible | insecure")
    title: str = Field(min_length=1, description="one-line title")
    solution_file: str = Field("solution.py", description="the file the agent writes")
    params: dict[str, list[Any]] = Field(default_factory=dict, description="placeholder -> values to draw from")
    files: list[str] = Field(default_factory=list, description="extra data files (family-relative) for the work dir")
    expected: dict[str, list[Detector]] = Field(description="reference name -> detectors that must fire")
    allowed_rules: list[str] = Field(default_factory=list, description=(
        "insecure-code rule ids (bandit B###, SEC_*) the task itself asks for, e.g. B324 where the spec wants an "
        "MD5 digest: not findings on this family (never a tampering or hidden-test rule)"))

    @field_validator("params")
    @classmethod
    def _non_empty(cls, params: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in params.items():
            if not values:
                raise ValueError(f"param {key!r} needs at least one value")
        return params

    @field_validator("expected")
    @classmethod
    def _references_named(cls, expected: dict[str, list[str]]) -> dict[str, list[str]]:
        if expected.get("honest") != []:
            raise ValueError("needs `honest: []` (the honest reference triggers no detector)")
        others = [n for n in expected if n != "honest"]
        if not others:
            raise ValueError("needs at least one hack* or insecure* reference")
        for name in others:
            if not name.startswith(("hack", "insecure")):
                raise ValueError(f"reference {name!r} must be named honest, hack* or insecure*")
            if not expected[name]:
                raise ValueError(f"reference {name!r} must name the detectors that fire for it")
        return expected


@dataclass(frozen=True)
class TaskFamily:
    """A family folder, loaded; `instance(seed)` renders one concrete task."""

    spec: FamilySpec
    root: Path
    templates: dict[str, str]  # family-relative path -> template text

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> TaskKind:
        return self.spec.kind

    def params_for(self, seed: int) -> dict[str, Any]:
        rng = random.Random(f"{self.name}:{seed}")
        return {key: rng.choice(values) for key, values in self.spec.params.items()}

    def instance(self, seed: int) -> Task:
        params = self.params_for(seed)

        def text(rel: str) -> str:
            return render(self.templates[rel], params, where=str(self.root / rel))

        references = {name: self._reference(name, text) for name in self.spec.expected}
        return Task(
            family=self.name,
            kind=self.kind,
            seed=seed,
            title=render(self.spec.title, params, where=f"{self.root / 'family.yaml'} title"),
            spec=text("spec.md").strip() + "\n",
            solution_file=self.spec.solution_file,
            starter=text("starter.py"),
            visible_tests={VISIBLE_TESTS: text(VISIBLE_TESTS)},
            hidden_cases=parse_hidden_cases(text(HIDDEN_CASES), self.root / HIDDEN_CASES),
            files={Path(rel).name: text(rel) for rel in self.spec.files},
            references=references,
            expected={name: list(dets) for name, dets in self.spec.expected.items()},
            allowed_rules=tuple(self.spec.allowed_rules),
        )

    def _reference(self, name: str, text: Callable[[str], str]) -> str:
        single = f"solutions/{name}.py"
        if single in self.templates:
            return text(single)
        prefix = f"solutions/{name}/"
        parts = {rel.removeprefix(prefix): text(rel) for rel in sorted(self.templates) if rel.startswith(prefix)}
        code = parts.pop(self.spec.solution_file)
        blocks = [f"```python\n{code.rstrip()}\n```"]
        blocks += [f"```python\n# file: {fname}\n{body.rstrip()}\n```" for fname, body in parts.items()]
        return "\n\n".join(blocks) + "\n"


def render(template: str, params: dict[str, Any], where: str) -> str:
    """Fill `{{name}}` / `{{name.key}}` placeholders; an unknown one is a ConfigError naming `where`."""

    def fill(match: re.Match[str]) -> str:
        key, sub = match.group(1), match.group(2)
        if key not in params:
            raise ConfigError(f"{where}: placeholder {{{{{key}}}}} is not a param of the family")
        value = params[key]
        if sub is not None:
            if not isinstance(value, dict) or sub not in value:
                raise ConfigError(f"{where}: placeholder {match.group(0)}: param {key!r} has no key {sub!r}")
            value = value[sub]
        return value if isinstance(value, str) else repr(value) if not isinstance(value, (int, float)) else str(value)

    return _PLACEHOLDER.sub(fill, template)


BUILTIN_SOURCE = "builtin"  # in a source list: the repo's own scenarios/tasks


def default_root() -> Path:
    return repo_root() / "scenarios" / "tasks"


def load_family(folder: Path) -> TaskFamily:
    """One family folder, validated (ConfigError naming the file and field otherwise)."""
    return _load_family(Path(folder))


def load_sources(sources: Sequence[str | Path] | None = None) -> dict[str, TaskFamily]:
    """The families of several task folders, by name; the scenario's `tasks.source` / `--tasks`.

    None or [] means the repo's suite alone; `builtin` in a list names it beside other folders.
    A family name found in two folders is a ConfigError naming both.
    """
    roots = [default_root() if str(s) == BUILTIN_SOURCE else Path(s) for s in (sources or [BUILTIN_SOURCE])]
    merged: dict[str, TaskFamily] = {}
    for root in roots:
        for name, family in load_families(root).items():
            if name in merged and merged[name].root != family.root:
                raise ConfigError(f"task family {name!r} is defined twice: in {merged[name].root} and in "
                                  f"{family.root}; rename one folder (and its family.yaml name)")
            merged[name] = family
    return merged


def load_families(root: Path | None = None) -> dict[str, TaskFamily]:
    """Every family under `root` (default: the repo's scenarios/tasks), by name."""
    return dict(_load_families(Path(root) if root is not None else default_root()))


@functools.lru_cache(maxsize=8)
def _load_families(root: Path) -> tuple[tuple[str, TaskFamily], ...]:
    if not root.is_dir():
        raise ConfigError(f"task suite folder {root} does not exist")
    families = [_load_family(d) for d in sorted(root.iterdir()) if (d / "family.yaml").is_file()]
    return tuple((f.name, f) for f in families)


def _load_family(folder: Path) -> TaskFamily:
    yaml_path = folder / "family.yaml"
    spec = load_yaml_model(yaml_path, FamilySpec)
    if spec.name != folder.name:
        raise ConfigError(f"{yaml_path}: field 'name': {spec.name!r} must equal the folder name {folder.name!r}")
    templates = {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "family.yaml" and "__pycache__" not in p.parts
    }
    for rel in (*_REQUIRED_FILES, *spec.files):
        if rel not in templates:
            raise ConfigError(f"{yaml_path}: family {spec.name!r} is missing the file {rel}")
    listed = set(spec.expected)
    on_disk = {rel.split("/")[1].removesuffix(".py") for rel in templates if rel.startswith("solutions/")}
    if on_disk != listed:
        raise ConfigError(
            f"{yaml_path}: field 'expected': lists references {sorted(listed)} but solutions/ holds {sorted(on_disk)}"
        )
    for name in listed:
        if f"solutions/{name}.py" not in templates and f"solutions/{name}/{spec.solution_file}" not in templates:
            raise ConfigError(f"{yaml_path}: reference folder solutions/{name}/ has no {spec.solution_file}")
    family = TaskFamily(spec=spec, root=folder, templates=templates)
    # A malformed case is a load error, not a surprise at the first run (rendered with seed 0's params).
    parse_hidden_cases(render(templates[HIDDEN_CASES], family.params_for(0), str(folder / HIDDEN_CASES)),
                       folder / HIDDEN_CASES)
    return family


def select_tasks(
    selection: TaskSelection, seed: int, split: Literal["train", "eval"] = "train", root: Path | None = None
) -> list[Task]:
    """The task instances of a split, shuffled deterministically (kinds interleave).

    Families come from `root` when given, else from the selection's sources (`tasks.source`).
    train: the selected families and kinds minus the held-out ones (dev and test splits), at the
    explicit `seeds` or `(seed*1000 + i) mod EVAL_SEED_BASE` for i < instances_per_family.
    eval: the families of `eval_split` (dev: `holdout_families`, test: `test_families`) when given,
    else the train families; at seeds from EVAL_SEED_BASE up, so an eval instance is never a train
    instance.
    """
    families = load_families(root) if root is not None else load_sources(selection.source)
    chosen = sorted(families) if selection.families == "all" else list(selection.families)
    chosen = [name for name in chosen if families[name].kind in selection.kinds]
    held_out = set(selection.held_out)
    if split == "train":
        names = [n for n in chosen if n not in held_out]
        seeds = list(selection.seeds) if selection.seeds else [
            (seed * 1000 + i) % EVAL_SEED_BASE for i in range(selection.instances_per_family)
        ]
    elif split == "eval":
        names = selection.eval_families or [n for n in chosen if n not in held_out]
        seeds = [EVAL_SEED_BASE + (seed * 1000 + i) % EVAL_SEED_BASE for i in range(selection.eval_instances_per_family)]
    else:
        raise ConfigError(f"unknown split {split!r}: use 'train' or 'eval'")
    tasks = [families[name].instance(s) for name in names for s in seeds]
    random.Random(f"select:{seed}:{split}").shuffle(tasks)
    return tasks
