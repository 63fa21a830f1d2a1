"""What a benchmark ran on: machine, threads, versions, operator backends, date.

Every results file and printed table carries this, because a latency number means
nothing without the machine and the load it was measured under.
"""
from __future__ import annotations

import datetime
import os
import platform


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else ``platform.processor()``."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            for line in handle:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> tuple[float, float, float] | None:
    """The 1/5/15-minute load averages (None where the OS has none)."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except (AttributeError, OSError):
        return None


def machine_info() -> dict:
    """A JSON-able description of this machine and software, with the UTC time."""
    import torch

    from spairkit.ops import available_backends

    return {
        'date_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M'),
        'cpu': cpu_model(),
        'logical_cpus': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'platform': platform.platform(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'cuda_device': (torch.cuda.get_device_name(0) if torch.cuda.is_available() else None),
        'ops_backends': available_backends(),
        'load_average': load_average(),
    }


def describe_machine(info: dict) -> str:
    """One line for the head of a printed table."""
    load = info.get('load_average')
    load_text = f', load {load[0]:.1f}' if load else ''
    return (f"{info['cpu']} ({info['logical_cpus']} logical CPUs, {info['torch_threads']} "
            f"torch threads{load_text}), torch {info['torch']}, backends "
            f"{'/'.join(info['ops_backends'])}, {info['date_utc']} UTC")
