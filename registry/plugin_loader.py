"""Lazy discovery of task/block plugins through the ``spairkit.plugins`` entry points.

A plugin is any importable module advertised by an installed distribution::

    [project.entry-points."spairkit.plugins"]
    snow = "spairkit_snow"

Importing the module registers its components with ``@MODELS.register_module()``
and friends. Plugins are imported the first time any spairkit registry is asked
for a component (never at import time of spairkit itself), exactly once per
process. A plugin that fails to import produces a one-line warning naming it and
the error; the other plugins still load, and every later "unknown type" error adds
:meth:`EntryPointPlugins.failure_note` (``plugin 'fog' failed to import: ...``), since
the missing component is most likely the failed plugin's.
"""
from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint, entry_points

from mmengine.registry import Registry

ENTRY_POINT_GROUP = 'spairkit.plugins'


class PluginLoadWarning(UserWarning):
    """A plugin advertised under ``spairkit.plugins`` could not be imported."""


class EntryPointPlugins:
    """Imports the modules of one entry-point group, once.

    The state lives on an instance (one per group) rather than in loose module
    globals, so tests can build their own loader over a fake group.
    """

    def __init__(self, group: str = ENTRY_POINT_GROUP):
        self.group = group
        self.loaded: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self._done = False

    def discover(self) -> list[EntryPoint]:
        return sorted(entry_points(group=self.group), key=lambda ep: ep.name)

    def load_all(self) -> None:
        if self._done:
            return
        # Set first: a plugin that looks something up while importing must not
        # recurse into loading itself again.
        self._done = True
        for ep in self.discover():
            try:
                ep.load()
            except Exception as exc:  # noqa: BLE001 - any plugin failure is reported
                msg = f'{type(exc).__name__}: {exc}'.splitlines()[0]
                self.failed[ep.name] = msg
                warnings.warn(
                    f"spairkit plugin '{ep.name}' ({ep.value}) failed to load: {msg}",
                    PluginLoadWarning, stacklevel=2)
            else:
                self.loaded[ep.name] = ep.value

    def failure_note(self) -> str:
        """``"; plugin 'fog' (spairkit_fog) failed to import: <error>"`` per failed plugin.

        Empty when every plugin loaded; meant to end an "unknown component" message.
        """
        self.load_all()
        return ''.join(f"; plugin '{name}' failed to import: {msg}"
                       for name, msg in sorted(self.failed.items()))


PLUGINS = EntryPointPlugins()


class PluginRegistry(Registry):
    """An MMEngine registry that also imports entry-point plugins on first use."""

    def import_from_location(self) -> None:
        super().import_from_location()
        PLUGINS.load_all()

    def sources(self) -> dict[str, str]:
        """Registered name -> ``module`` it was defined in (after lazy imports)."""
        self.import_from_location()
        return {name: f'{obj.__module__}.{obj.__qualname__}'
                for name, obj in sorted(self.module_dict.items())}
