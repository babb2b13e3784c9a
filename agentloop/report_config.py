"""The report's configuration snapshot: what every run shares once, then what each arm and each run sets
differently, so a 25-run experiment reads in a page instead of 25 near-identical YAML files.

    lines = config_snapshot_markdown(report.runs)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.report import RunInfo

_UNSET = object()  # a key one run has and another lacks


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (`conscience.mode`); lists and scalars are leaves."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """`flatten`'s inverse, keeping the keys' order."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _yaml(data: dict[str, Any]) -> list[str]:
    import yaml

    return ["```yaml", yaml.safe_dump(data, sort_keys=False).strip() or "{}", "```", ""]


def _inline(value: Any) -> str:
    import yaml

    if value is _UNSET:
        return "(unset)"
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("\n...").strip()


def _same(values: Sequence[Any]) -> bool:
    return all(v is not _UNSET and v == values[0] for v in values)


def config_snapshot_markdown(runs: Sequence[RunInfo]) -> list[str]:
    """One run: its whole configuration. Several: the settings all share, then per arm the settings its runs
    share beyond those, then per run the rest (the seed, usually), so every run's configuration is still
    complete on the page."""
    if len(runs) == 1:
        return [f"Run {runs[0].id}:", "", *_yaml(runs[0].config)]
    flat = {run.id: flatten(run.config) for run in runs}
    keys = list(dict.fromkeys(k for run in runs for k in flat[run.id]))
    common = {k: flat[runs[0].id][k] for k in keys
              if _same([flat[run.id].get(k, _UNSET) for run in runs])}
    parts = [f"Shared by all {len(runs)} runs:", "", *_yaml(unflatten(common))]
    groups: dict[str | None, list[RunInfo]] = {}
    for run in runs:
        groups.setdefault(run.arm, []).append(run)
    for arm, members in groups.items():
        rest = [k for k in keys if k not in common]
        shared = {k: flat[members[0].id].get(k, _UNSET) for k in rest
                  if _same([flat[run.id].get(k, _UNSET) for run in members])}
        varying = [k for k in rest if k not in shared]
        who = f"Runs {', '.join(str(r.id) for r in members)}" if len(members) > 1 else f"Run {members[0].id}"
        title = f"{who}" + (f" (arm `{arm}`)" if arm else "")
        if shared:
            parts += [f"{title} also set:", "", "```yaml",
                      *[f"{k}: {_inline(v)}" for k, v in shared.items()], "```", ""]
        if varying:
            parts += [f"{title}, each:", ""]
            parts += [f"- run {run.id}: " + ", ".join(f"`{k}: {_inline(flat[run.id].get(k, _UNSET))}`"
                                                     for k in varying) for run in members]
            parts.append("")
    return parts


__all__ = ["config_snapshot_markdown", "flatten", "unflatten"]
