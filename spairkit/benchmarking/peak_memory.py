"""Peak memory of one Net_R inference, as the RSS high-water mark of a fresh process.

``tracemalloc`` does not see torch's CPU allocations, so each configuration runs in
its own Python process (``python -m spairkit.benchmarking.peak_memory``). It builds the
model, input, mask and Net_L guides, runs one tiny warm-up forward (which loads the
compiled operators and primes the allocator), notes its resident set size, resets the
kernel's RSS high-water mark (``/proc/self/clear_refs``) and runs the measured forward;
``forward_mb`` is the high-water mark (``VmHWM``) after it minus the RSS before it, and
``peak_mb`` the high-water mark itself (Python, torch and the model included).

``resource.getrusage().ru_maxrss`` is not used on Linux: it survives ``fork`` + ``exec``,
so a worker started by a big parent inherits the parent's peak. Where ``/proc`` is
missing (macOS) it is the fallback, and ``method`` in the result says which was used.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

from spairkit.ops import BACKEND_ENV_VAR

_STATUS = '/proc/self/status'


def _status_mb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process from /proc, in MB."""
    with open(_STATUS, encoding='ascii') as handle:
        for line in handle:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024.0  # kB
    raise OSError(f'{field} not in {_STATUS}')


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, kB on Linux
    return kb / (1024.0 * 1024.0) if sys.platform == 'darwin' else kb / 1024.0


def _has_proc_hwm() -> bool:
    try:
        _status_mb('VmHWM')
        with open('/proc/self/clear_refs', 'w', encoding='ascii') as handle:
            handle.write('5')
    except OSError:
        return False
    return True


def measure_in_this_process(model_name: str, size: int, density: float, small: bool,
                            threads: int | None) -> dict:
    """Build, warm up, run one forward; the RSS high-water marks before and after."""
    import torch

    from .model_quick import build_restorer, netr_forward

    if threads:
        torch.set_num_threads(threads)
    model = build_restorer(model_name, small=small)
    netr_forward(model, 16, 1.0)()  # loads libraries and warms the allocator
    run = netr_forward(model, size, density)
    if _has_proc_hwm():
        before = _status_mb('VmRSS')
        with open('/proc/self/clear_refs', 'w', encoding='ascii') as handle:
            handle.write('5')  # high-water mark := current RSS
        run()
        after, method = _status_mb('VmHWM'), 'VmHWM'
    else:
        before = _maxrss_mb()
        run()
        after, method = _maxrss_mb(), 'ru_maxrss'
    return {'baseline_mb': before, 'peak_mb': after, 'forward_mb': max(0.0, after - before),
            'method': method}


def measure_peak_rss(model_name: str, size: int, density: float, backend: str | None,
                     small: bool = False, threads: int | None = None,
                     timeout_s: float = 900) -> dict:
    """Run :func:`measure_in_this_process` in a fresh interpreter with ``backend`` forced."""
    env = dict(os.environ)
    if backend is None:
        env.pop(BACKEND_ENV_VAR, None)
    else:
        env[BACKEND_ENV_VAR] = backend
    cmd = [sys.executable, '-m', 'spairkit.benchmarking.peak_memory', '--model', model_name,
           '--size', str(size), '--density', str(density)]
    if small:
        cmd.append('--small')
    if threads:
        cmd += ['--threads', str(threads)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ['no output']
        raise RuntimeError(f'peak-memory worker failed for {model_name} {size} {density} '
                           f'{backend}: {tail[0]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='peak RSS of one Net_R forward (worker)')
    parser.add_argument('--model', required=True)
    parser.add_argument('--size', type=int, required=True)
    parser.add_argument('--density', type=float, required=True)
    parser.add_argument('--small', action='store_true')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(measure_in_this_process(args.model, args.size, args.density, args.small,
                                             args.threads)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
