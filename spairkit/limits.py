"""How much memory this process may use, and the budgets derived from it.

Why: an image or checkpoint can declare a size (a PNG header, a zip member) far larger
than the machine can hold; decoding it first and failing later gets the process killed
by the kernel, losing the work of a whole folder run. Readers compare the declared
size with a budget *before* allocating.

The limit is the smallest of: physical memory, the cgroup limit (v2 ``memory.max``,
v1 ``memory.limit_in_bytes``) and ``RLIMIT_AS``/``RLIMIT_DATA``. The default budget is
half of it (the rest is for the interpreter, the model and the copies a pipeline
makes); ``SPAIRKIT_MEMORY_BUDGET`` (e.g. ``8G``, ``512M``) or the commands'
``--memory-budget`` set it explicitly.
"""
from __future__ import annotations

import os
import re
import resource

from spairkit.errors import ConfigError

BUDGET_ENV = 'SPAIRKIT_MEMORY_BUDGET'
DEFAULT_FRACTION = 0.5
_UNITS = {'': 1, 'K': 2**10, 'M': 2**20, 'G': 2**30, 'T': 2**40}


def parse_size(text: str, what: str = BUDGET_ENV) -> int:
    """``'8G'``, ``'512M'``, ``'1.5G'``, ``'1000000'`` -> bytes; ConfigError otherwise."""
    match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*', str(text), re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise ConfigError(f'{what}={text!r}: expected a positive size such as 8G, 512M or '
                          '1000000 (bytes)')
    return int(float(match[1]) * _UNITS[match[2].upper()])


def _cgroup_limit() -> int | None:
    for path in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            return int(text)
    return None


def memory_limit_bytes() -> int:
    """The most memory this process can get (see the module docstring)."""
    limits = [os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')]
    cgroup = _cgroup_limit()
    if cgroup is not None:
        limits.append(cgroup)
    for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY:
            limits.append(soft)
    return min(limits)


def memory_budget_bytes(explicit: str | int | None = None) -> int:
    """The budget for one image or checkpoint: ``explicit``, else ``$SPAIRKIT_MEMORY_BUDGET``,
    else half of :func:`memory_limit_bytes`."""
    if isinstance(explicit, int):
        return explicit
    if explicit is not None:
        return parse_size(explicit, '--memory-budget')
    env = os.environ.get(BUDGET_ENV)
    if env:
        return parse_size(env)
    return int(memory_limit_bytes() * DEFAULT_FRACTION)


def format_bytes(n: float) -> str:
    """``3221225472`` -> ``'3.0 GiB'``."""
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(n) < 1024 or unit == 'GiB':
            return f'{n:.1f} {unit}' if unit != 'B' else f'{int(n)} B'
        n /= 1024
    return f'{n:.1f} GiB'
