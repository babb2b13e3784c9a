"""The demo plugin (tests/plugins/agentloop_demo_detector) "installed" the way pip would leave it: a
`*.dist-info` folder with its entry points, read from the plugin's own pyproject.toml.

    paths = install_demo_plugin(tmp_path / "site")   # put these on sys.path (or PYTHONPATH for a child)
    with demo_plugin_on_path(tmp_path / "site", monkeypatch): ...   # this process, registries refreshed
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent / "plugins" / "agentloop_demo_detector"
MODULE = "agentloop_demo_detector"


def install_demo_plugin(site: Path) -> list[Path]:
    """Write the plugin's dist-info under `site`; returns the folders that make it importable and
    its entry points visible (importlib.metadata reads dist-info folders on the path)."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    dist = site / f"{MODULE}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (dist / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) + "\n"
        for group, eps in project["entry-points"].items()))
    return [site, PLUGIN]


def forget_plugins() -> None:
    """The registries cache the entry points they found: forget them (a plugin came or went)."""
    from agentloop.core.registry import plugins
    from agentloop.detectors import base

    plugins.cache_clear()
    base._instances.clear()


@contextmanager
def demo_plugin_on_path(site: Path, monkeypatch) -> Iterator[list[Path]]:
    """The demo plugin installed for this process while the block runs; gone afterwards (with every
    other patch of `monkeypatch`)."""
    paths = install_demo_plugin(site)
    for path in reversed(paths):
        monkeypatch.syspath_prepend(str(path))
    forget_plugins()
    try:
        yield paths
    finally:
        monkeypatch.undo()
        sys.modules.pop(MODULE, None)
        forget_plugins()
