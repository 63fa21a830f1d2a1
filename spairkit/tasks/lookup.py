"""Finding registered tasks by name (built-in and third-party alike)."""
from __future__ import annotations

from spairkit.errors import ConfigError, closest
from spairkit.registry import TASKS
from spairkit.registry.plugin_loader import PLUGINS

from .task import Task


def task_names() -> list[str]:
    """Names of every registered task (imports the entry-point plugins first)."""
    TASKS.import_from_location()
    return sorted(TASKS.module_dict)


def get_task(name: str) -> Task:
    """The task registered as ``name``.

    An unknown name is a :class:`~spairkit.errors.ConfigError` listing the closest
    registered names (or all of them), so a typo on the command line is a one-liner.
    """
    if isinstance(name, Task):
        return name
    if not isinstance(name, str):
        raise ConfigError(f'a task is named by a string, got {name!r}')
    # The registry's own table only: MMEngine's Registry.get() would fall back to
    # importing any module of that name (pydoc.locate), i.e. run arbitrary code.
    TASKS.import_from_location()
    cls = TASKS.module_dict.get(name)
    if cls is None:
        names = task_names()
        near = closest(name, names)
        hint = f'did you mean {", ".join(repr(n) for n in near)}? ' if near else ''
        raise ConfigError(f'unknown task {name!r} in the TASKS registry; {hint}'
                          f'registered tasks: {", ".join(names) or "none"}'
                          f'{PLUGINS.failure_note()}')
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ConfigError(
            f'TASKS entry {name!r} ({cls!r}) is not a subclass of spairkit.tasks.Task')
    if cls.name != name:
        raise ConfigError(
            f'TASKS entry {name!r} is registered under a different name than its '
            f'Task.name {cls.name!r} ({cls.__module__}); register it with name={cls.name!r}')
    return cls()


def all_tasks() -> list[Task]:
    """Every registered task, sorted by name."""
    return [get_task(n) for n in task_names()]
