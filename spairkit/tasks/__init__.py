"""The task-plugin contract (``TASKS``): :class:`Task` and lookup helpers.

The tasks themselves live in plugins (``spairkit.plugins.<task>`` for the built-in
four) found through the ``spairkit.plugins`` entry points; this package names none of
them.
"""
from .lookup import all_tasks, get_task, task_names
from .task import CONFIG_ROLES, REQUIRED_CONFIG_ROLES, Task

__all__ = ['CONFIG_ROLES', 'REQUIRED_CONFIG_ROLES', 'Task', 'all_tasks', 'get_task', 'task_names']
