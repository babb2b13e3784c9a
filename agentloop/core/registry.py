"""Extension points by name: one `Registry` per kind (engine, judge, sandbox, detector).

    from agentloop.core.registry import Registry
    WIDGETS: Registry[WidgetFactory] = Registry("widget", group="agentloop.widgets")

    @WIDGETS.register("plain")
    def plain(config): ...

    WIDGETS.get("plain")       # the factory; an unknown name is a ConfigError listing the choices
    WIDGETS.names()            # built-ins and installed plugins, sorted

Third-party packages add their own through the entry-point group: in their pyproject.toml
`[project.entry-points."agentloop.detectors"] my_rule = "my_pkg.detector:MyDetector"`. Plugins load
on the first lookup of a name the built-ins lack (or on `names()`); a plugin that fails to import, or
whose name clashes with a built-in, is a `PluginError` naming the plugin and its distribution.

A leaf module (it imports only agentloop.core.errors): `conscience` and `store` may use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from agentloop.core.errors import ConfigError

__all__ = ["PluginError", "Registry", "plugins"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class PluginError(ConfigError):
    """An installed plugin could not be loaded (the message names it and its distribution)."""


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    name = dist.name if dist is not None else None
    return f"plugin {ep.name!r} ({ep.value}{f', from {name}' if name else ''}) in group {ep.group!r}"


@lru_cache(maxsize=None)
def plugins(group: str) -> dict[str, Any]:
    """Every entry point of `group`, loaded: name -> object. Cached per process (`plugins.cache_clear()`
    re-reads the installed distributions)."""
    loaded: dict[str, Any] = {}
    for ep in entry_points(group=group):
        if ep.name in loaded:
            raise PluginError(f"{_origin(ep)}: the name {ep.name!r} is declared by two installed plugins")
        try:
            loaded[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must say which one it is, whatever it raised
            raise PluginError(f"{_origin(ep)} failed to load: {type(exc).__name__}: {exc}") from exc
        log.debug("loaded %s", _origin(ep))
    return loaded


class Registry(Generic[T]):
    """Named factories of one kind: built-ins registered with `@registry.register(name)`, plugins
    read from the entry-point group `group`."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._builtin: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: record `obj` under `name` (a second registration of one name is a bug)."""

        def add(obj: T) -> T:
            if name in self._builtin:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._builtin[name] = obj
            return obj

        return add

    def _all(self) -> dict[str, T]:
        found = dict(self._builtin)
        for name, obj in plugins(self.group).items():
            if name in found:
                raise PluginError(f"plugin {name!r} in group {self.group!r} clashes with the built-in "
                                  f"{self.kind} of that name; rename the entry point")
            found[name] = obj
        return found

    def names(self) -> list[str]:
        """Built-in and plugin names, sorted."""
        return sorted(self._all())

    def builtin_names(self) -> list[str]:
        """Only the names registered in this package, in registration order."""
        return list(self._builtin)

    def get(self, name: str) -> T:
        """The factory registered as `name`; ConfigError naming the choices if there is none."""
        if name in self._builtin:
            return self._builtin[name]
        found = self._all()
        if name not in found:
            raise ConfigError(f"unknown {self.kind} {name!r}: choose one of {', '.join(sorted(found))}")
        return found[name]

    def items(self) -> list[tuple[str, T]]:
        """(name, factory) for built-ins in registration order, then plugins by name."""
        builtin = list(self._builtin.items())
        return builtin + sorted(((n, o) for n, o in self._all().items() if n not in self._builtin), key=lambda item: item[0])
