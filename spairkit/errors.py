"""User-facing errors.

A :class:`UserError` is a mistake of the user's (a bad path, key or value); the
command line prints its message as one line and exits with ``exit_code``
(2 by default) instead of a traceback. Library code raises the most specific
subclass with a message that names the file, key or value at fault.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in the user's input; reported as one line, exit code 2."""

    exit_code = 2


class ConfigError(UserError, ValueError):
    """A config file, key or value is wrong."""


class DataError(UserError, ValueError):
    """A dataset folder or image is missing, unpaired, corrupt or mis-sized."""


class CheckpointError(UserError):
    """A checkpoint is missing, corrupt or needs unsafe loading."""


class UnknownComponentError(UserError, KeyError):
    """A config names a ``type`` that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ''


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The registered names closest to ``name`` (case-insensitive difflib)."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


def unknown_component_message(registry: str, name: str, candidates: Iterable[str]) -> str:
    """One line for an unknown ``type``: the closest names, and any plugin that failed to
    import (the component is most likely that plugin's)."""
    from spairkit.registry.plugin_loader import PLUGINS

    near = closest(name, candidates)
    hint = f"; did you mean {', '.join(repr(c) for c in near)}?" if near else ''
    return f"unknown type '{name}' in the {registry} registry{hint}{PLUGINS.failure_note()}"
