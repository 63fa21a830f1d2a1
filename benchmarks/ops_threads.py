"""Thread scaling of the compiled CPU operators (1 vs 2 torch threads), issue 13 items 3-4.

Usage::

    python benchmarks/ops_threads.py                  # 3 runs per wait policy, table
    python benchmarks/ops_threads.py --runs 1 --quick # one short run
    python benchmarks/ops_threads.py --write-doc      # also (re)write the section of
                                                      # docs/benchmarks.md

What is measured (256x256 unless stated, blob masks of ``benchmarks/ops.py``, float32,
``torch.no_grad()``, compiled C++ backend, fastest of several calls):

* ``masked_criss_cross_attention`` (dense maps, the public operator) and
  ``site_criss_cross`` (the compact operator SNL calls), C = Cq = 32, forward, against
  the FLOP floor ``n (H + W) C 4`` (n degraded pixels) at the 1-thread GEMM rate
  measured in the same process, and at 10% against the dense masked einsum version
  (``benchmarks.ops.dense_masked_cca``) at 128x128 and 256x256;
* one ``SparseConvBlock`` (SC, 6 layers, growth 16) and one ``SparseNonLocal`` (SNL,
  2 steps) forward at 10%, C = 32 and 64, on a plan built beforehand (as Net_R does
  once per level), including the block's gather and scatter;
* each at 1 and 2 threads (``torch.set_num_threads`` in one process, interleaved, so
  both see the same machine load).

The whole measurement runs in a child process per OpenMP wait policy (the default,
``OMP_WAIT_POLICY=passive``): the policy is read when the OpenMP runtime starts. The
machine is a shared 2-core box: every run records the load average before and after,
and the table reports the median over ``--runs`` runs of each figure (ratios are
taken within a run).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / 'docs' / 'benchmarks.md'
TITLE = '## Operator thread scaling (1 vs 2 threads)'
BEGIN = '<!-- BEGIN ops_threads (benchmarks/ops_threads.py) -->'
END = '<!-- END ops_threads -->'
POLICIES = ('default', 'passive')


# ------------------------------------------------------------------- child process
def _measure(quick: bool, budget: float, extra_cflags: list[str]) -> dict:
    """All figures of one run, in this process (called in the child)."""
    import torch

    from spairkit.ops import _build
    if extra_cflags:  # an experiment: the flags are part of the build's cache key
        _build._CXX_FLAGS = tuple(_build._CXX_FLAGS) + tuple(extra_cflags)

    sys.path.insert(0, str(REPO / 'benchmarks'))
    from _timing import gemm_rate, time_call
    from ops import dense_masked_cca, make_mask

    from spairkit.models.blocks.sparse_conv import SparseConvBlock
    from spairkit.models.blocks.sparse_nonlocal import SparseNonLocal
    from spairkit.ops import compiled
    from spairkit.ops.sites import gather_sites, site_criss_cross, site_plan

    compiled.load('cpp')
    torch.manual_seed(0)
    t = lambda fn: time_call(fn, min_reps=3, budget_s=budget)  # noqa: E731
    once = lambda fn: time_call(fn, min_reps=1, max_reps=2, budget_s=0.0)  # noqa: E731
    res: dict = {'load_before': os.getloadavg(),
                 'cflags': list(_build.build_spec(with_cuda=False).cflags)}
    torch.set_num_threads(1)
    res['gemm_gflops_1t'] = gemm_rate('cpu') / 1e9

    def cca_inputs(size, c):
        gen = torch.Generator().manual_seed(1)
        q, k, v = (torch.randn(1, c, size, size, generator=gen) for _ in range(3))
        w = torch.softmax(torch.randn(1, 4, size, size, generator=gen), 1)
        return q, k, v, w

    c = 32
    scale = c ** -0.5
    figures: dict[str, dict] = {}
    with torch.no_grad():
        for size in ((256,) if quick else (128, 256)):
            q, k, v, w = cca_inputs(size, c)
            densities = (0.01, 0.1) if size == 256 else (0.1,)
            for d in densities:
                mask = make_mask('blob', d, size, size)
                plan = site_plan(mask)
                n = int(plan.num_sites)
                q_rows, w_rows = gather_sites(q, plan), gather_sites(w, plan)
                args = dict(q=q, k=k, v=v, w=w, mask=mask, plan=plan, qr=q_rows, wr=w_rows)
                floor = n * 2 * size * c * 4 / (res['gemm_gflops_1t'] * 1e9)
                figures[f'cca dense-map op {size}² {d:.0%}'] = dict(
                    n=n, floor_s=floor, fn=lambda a=args: compiled.masked_criss_cross_attention(
                        a['q'], a['k'], a['v'], a['mask'], a['w'], scale))
                figures[f'cca site op {size}² {d:.0%}'] = dict(
                    n=n, floor_s=floor, fn=lambda a=args: site_criss_cross(
                        a['qr'], a['k'], a['v'], a['wr'], a['plan'], scale))
                if d == 0.1:
                    figures[f'cca dense einsum {size}² 10%'] = dict(
                        slow=True, fn=lambda a=args: dense_masked_cca(
                            a['q'], a['k'], a['v'], a['mask'], a['w'], scale))
        x_size = 256
        mask = make_mask('blob', 0.1, x_size, x_size)
        plan = site_plan(mask)
        for ch in ((32,) if quick else (32, 64)):
            x = torch.randn(1, ch, x_size, x_size)
            sc = SparseConvBlock(ch).eval()
            snl = SparseNonLocal(ch).eval()
            figures[f'SC block C={ch} 256² 10%'] = dict(
                fn=lambda sc=sc, x=x: sc(x, mask, plan))
            figures[f'SNL block C={ch} 256² 10%'] = dict(
                fn=lambda snl=snl, x=x: snl(x, mask, plan))
        for fig in figures.values():
            fn = fig.pop('fn')
            timer = once if fig.pop('slow', False) else t
            for threads in (1, 2):  # interleaved: same load for both
                torch.set_num_threads(threads)
                fig[f't{threads}'] = timer(fn)
    torch.set_num_threads(1)
    res['figures'] = figures
    res['load_after'] = os.getloadavg()
    return res


# ------------------------------------------------------------------ parent process
def _run_child(policy: str, quick: bool, budget: float, extra_cflags: list[str]) -> dict:
    env = dict(os.environ, SPAIRKIT_OPS_BACKEND='cpp')
    env.pop('OMP_NUM_THREADS', None)  # threads are set in-process
    if policy == 'default':
        env.pop('OMP_WAIT_POLICY', None)
    else:
        env['OMP_WAIT_POLICY'] = policy
    cmd = [sys.executable, str(Path(__file__).resolve()), '--child', '--budget', str(budget)]
    if quick:
        cmd.append('--quick')
    if extra_cflags:
        cmd.append('--extra-cflags=' + ' '.join(extra_cflags))
    out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f'ops_threads child ({policy}) failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values):
    return statistics.median(values) if values else float('nan')


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Median over runs of every figure and ratio, per policy."""
    table: dict = {}
    for policy, results in runs.items():
        names = list(results[0]['figures'])
        rows = {}
        for name in names:
            figs = [r['figures'][name] for r in results]
            row = {'t1': _median([f['t1'] for f in figs]), 't2': _median([f['t2'] for f in figs]),
                   'speedup': _median([f['t1'] / f['t2'] for f in figs])}
            if 'floor_s' in figs[0]:
                row['floor_x_1t'] = _median([f['t1'] / f['floor_s'] for f in figs])
                row['floor_x_2t'] = _median([f['t2'] / f['floor_s'] for f in figs])
                row['n'] = figs[0]['n']
            rows[name] = row
        # Criss-cross at 10% against the dense einsum of the same run and size.
        for size in (128, 256):
            dense = f'cca dense einsum {size}² 10%'
            for op in ('dense-map', 'site'):
                name = f'cca {op} op {size}² 10%'
                if dense in names and name in names:
                    rows[name]['vs_einsum_1t'] = _median(
                        [r['figures'][name]['t1'] / r['figures'][dense]['t1'] for r in results])
                    rows[name]['vs_einsum_2t'] = _median(
                        [r['figures'][name]['t2'] / r['figures'][dense]['t2'] for r in results])
        table[policy] = dict(
            rows=rows, cflags=' '.join(results[0]['cflags']),
            gemm=_median([r['gemm_gflops_1t'] for r in results]),
            loads=[(r['load_before'][0], r['load_after'][0]) for r in results])
    return table


def render(table: dict, command: str, runs: int) -> str:
    import platform

    import torch

    lines = [TITLE, '', BEGIN, '',
             f'Produced by `{command}` on {time.strftime("%Y-%m-%d")} ({platform.machine()}, '
             f'{os.cpu_count()} CPUs, torch {torch.__version__}): median of {runs} runs per '
             'OpenMP wait policy, each run one process timing 1 and 2 threads interleaved '
             '(`torch.set_num_threads`), fastest of several calls each; ratios are taken '
             'within a run. float32, blob masks, compiled C++ ops, `torch.no_grad()`. '
             'floor = n (H + W) C 4 FLOPs at the 1-thread GEMM rate of the same run. The '
             'machine is shared with other jobs: the 1-minute load average before/after '
             'each run is listed, and with a load near or above 2 a second thread has no '
             'free core to run on.', '']
    for policy, data in table.items():
        label = 'OMP_WAIT_POLICY unset (libgomp default)' if policy == 'default' \
            else f'OMP_WAIT_POLICY={policy}'
        loads = ', '.join(f'{a:.1f}/{b:.1f}' for a, b in data['loads'])
        lines += [f'**{label}**, extension built with `{data["cflags"]}`; 1-thread GEMM '
                  f'{data["gemm"]:.0f} GFLOP/s; load {loads}', '',
                  '| operator | 1 thread ms | 2 threads ms | 1->2 speedup | '
                  '1t / floor | 2t / floor | 1t / einsum | 2t / einsum |',
                  '| --- | --- | --- | --- | --- | --- | --- | --- |']
        for name, r in data['rows'].items():
            def fmt(key, spec='.1f', row=r):
                return format(row[key], spec) if key in row else '-'
            lines.append(f'| {name} | {r["t1"] * 1e3:.2f} | {r["t2"] * 1e3:.2f} | '
                         f'{r["speedup"]:.2f}x | {fmt("floor_x_1t")} | {fmt("floor_x_2t")} | '
                         f'{fmt("vs_einsum_1t", ".3f")} | {fmt("vs_einsum_2t", ".3f")} |')
        lines.append('')
    lines.append(END)
    return '\n'.join(lines) + '\n'


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else ''
    if BEGIN in text and END in text:
        head = text[:text.index(BEGIN)]
        head = head[:head.rindex(TITLE)] if TITLE in head else head
        tail = text[text.index(END) + len(END):].lstrip('\n')
        text = head + section + ('\n' + tail if tail else '')
    else:
        text = text.rstrip('\n') + '\n\n' + section
    DOC.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3, help='runs per wait policy (median)')
    parser.add_argument('--quick', action='store_true', help='fewer configurations')
    parser.add_argument('--budget', type=float, default=0.3, help='seconds per timing')
    parser.add_argument('--policies', nargs='+', default=list(POLICIES), choices=POLICIES)
    parser.add_argument('--write-doc', action='store_true',
                        help=f'(re)write the section "{TITLE[3:]}" of docs/benchmarks.md')
    parser.add_argument('--json', type=Path, help='also write the raw runs here')
    parser.add_argument('--extra-cflags', default='',
                        help='extra C++ flags for the extension build, to measure a flag '
                             'before spairkit.ops._build adopts it (e.g. --extra-cflags=-fopenmp)')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f'--runs must be >= 1, got {args.runs}')
    if args.budget <= 0:
        parser.error(f'--budget must be > 0, got {args.budget}')
    if args.child:
        print(json.dumps(_measure(args.quick, args.budget, args.extra_cflags.split())))
        return 0
    runs: dict[str, list[dict]] = {p: [] for p in args.policies}
    for i in range(args.runs):  # alternate policies so both see similar load
        for policy in args.policies:
            print(f'run {i + 1}/{args.runs}, {policy} wait policy ...', file=sys.stderr)
            runs[policy].append(_run_child(policy, args.quick, args.budget,
                                           args.extra_cflags.split()))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    command = 'python benchmarks/ops_threads.py ' + ' '.join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a != '--write-doc')
    section = render(summarise(runs), command.strip(), args.runs)
    print(section)
    if args.write_doc:
        write_doc(section)
    return 0


if __name__ == '__main__':
    sys.exit(main())
