"""Benchmark of the SPAIR operators: compiled kernels against dense and reference baselines.

Usage::

    python benchmarks/ops.py                 # full sweep, writes docs/benchmarks.md
    python benchmarks/ops.py --quick         # one configuration per operator, < 60 s
    python benchmarks/ops.py --device cuda   # on a GPU (compiled CUDA backend)

Every ratio compares timings taken in the same run on the same tensors (the machine
may be shared and noisy; each timing is the fastest of several calls):

* ``sparse_conv2d`` (compiled, plan built once per mask as an SC block does) against
  dense ``F.conv2d``, the dense masked convolution ``M * conv(x * M)`` and the
  reference :func:`spairkit.ops.reference.sparse_conv2d`; forward and forward+backward;
  "floor" is the time the operator's GEMM FLOPs take at this machine's measured GEMM
  rate, so ``time / floor`` says how far from compute-bound it is.
* ``masked_criss_cross_attention`` (compiled) against the dense masked einsum version
  over all pixels (CCNet-style, :func:`dense_masked_cca`) and the line-chunked
  reference.

Masks: ``blob`` (smooth random field thresholded: few compact regions), ``streak``
(thin slanted line segments, like rain) and ``random`` (independent pixels), at
densities 0.01-1.0 (fraction of degraded pixels). The crossover density is where the
sparse forward stops beating the dense convolution (interpolated between densities).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

try:
    from benchmarks._timing import gemm_rate, time_call
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from _timing import gemm_rate, time_call

from spairkit.ops import compiled, reference

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / 'docs' / 'benchmarks.md'
BEGIN, END = '<!-- BEGIN operators (benchmarks/ops.py) -->', '<!-- END operators -->'

FULL = dict(sizes=(256, 512), channels=(32, 64, 128), masks=('blob', 'streak', 'random'),
            densities=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0))
QUICK = dict(sizes=(256,), channels=(64,), masks=('blob',), densities=(0.1, 1.0))
#: The configuration the project's targets are stated for.
TARGET = dict(size=256, channels=64, mask='blob', density=0.1)


# ------------------------------------------------------------------------- masks
def make_mask(kind: str, density: float, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A (1, 1, H, W) float mask with (close to) the requested fraction of ones."""
    gen = torch.Generator().manual_seed(seed)
    if density >= 1.0:
        return torch.ones(1, 1, h, w)
    if kind == 'random':
        field_ = torch.rand(h, w, generator=gen)
    elif kind == 'blob':
        coarse = torch.rand(1, 1, max(2, h // 64), max(2, w // 64), generator=gen)
        field_ = F.interpolate(coarse, size=(h, w), mode='bicubic', align_corners=False)[0, 0]
    elif kind == 'streak':
        return _streaks(density, h, w, gen)
    else:
        raise ValueError(f'unknown mask kind {kind!r}')
    threshold = torch.quantile(field_.flatten()[:2 ** 24].double(), 1 - density).float()
    return (field_ > threshold).float().view(1, 1, h, w)


def _streaks(density: float, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    """Slanted 1-2 px wide segments (rain streaks) added until the density is reached."""
    mask = torch.zeros(h, w)
    length = max(4, h // 6)
    t = torch.arange(length, dtype=torch.float32)
    n = max(1, round(density * h * w / (8 * length)))  # ~1/4 of the target per round
    while mask.mean() < density:
        y0 = torch.randint(0, h, (n, 1), generator=gen).float()
        x0 = torch.randint(0, w, (n, 1), generator=gen).float()
        slope = 0.15 + 0.2 * torch.rand(n, 1, generator=gen)
        ys = (y0 + t).long().clamp(0, h - 1)
        xs = (x0 + slope * t).long().clamp(0, w - 1)
        mask[ys, xs] = 1
        mask[ys, (xs + 1).clamp(max=w - 1)] = 1
    return mask.view(1, 1, h, w)


# ------------------------------------------------------------------- baselines
def dense_masked_conv(x, mask, weight, bias, dilation=1):
    """``M * conv(x * M)``: what the paper's SC costs without sparse kernels."""
    k = weight.shape[-1]
    return mask * F.conv2d(x * mask, weight, bias, padding=dilation * (k // 2),
                           dilation=dilation)


def dense_masked_cca(query, key, value, mask, weights, scale=1.0):
    """Masked criss-cross attention over all pixels with einsums (CCNet-style).

    Holds four ``(N, H, W, W or H)`` attention tensors: the memory and time the
    sparse kernel avoids. Same result as the reference at degraded pixels.
    """
    _, _, h, w = query.shape
    clean = mask[:, 0] <= 0.5  # (N, H, W)
    e_row = torch.einsum('nchw,nchv->nhwv', query, key) * scale  # keys (h, v)
    e_col = torch.einsum('nchw,ncgw->nhwg', query, key) * scale  # keys (g, w)
    iw, ih = torch.arange(w, device=query.device), torch.arange(h, device=query.device)
    q_w, k_v = iw.view(1, 1, w, 1), iw.view(1, 1, 1, w)
    q_h, k_g = ih.view(1, h, 1, 1), ih.view(1, 1, 1, h)
    clean_row = clean.unsqueeze(2)  # (N, H, 1, W): key (h, v) is clean
    clean_col = clean.permute(0, 2, 1).unsqueeze(1)  # (N, 1, W, H): key (g, w) is clean
    rays = ((e_row, (k_v < q_w) & clean_row, 'nhwv,nchv->nchw'),
            (e_row, (k_v > q_w) & clean_row, 'nhwv,nchv->nchw'),
            (e_col, (k_g < q_h) & clean_col, 'nhwg,ncgw->nchw'),
            (e_col, (k_g > q_h) & clean_col, 'nhwg,ncgw->nchw'))
    out = 0
    for d, (energy, allowed, spec) in enumerate(rays):
        attn = torch.softmax(energy.masked_fill(~allowed, float('-inf')), dim=-1)
        attn = torch.nan_to_num(attn, nan=0.0)  # an empty ray contributes 0
        out = out + weights[:, d:d + 1] * torch.einsum(spec, attn, value)
    return out * (~clean).unsqueeze(1).to(value.dtype)


# ------------------------------------------------------------------ measurement
@dataclass
class Bench:
    """Measurements of one run (seconds), rendered by :func:`render_markdown`."""

    device: str
    quick: bool
    gemm_flops: float = 0.0
    conv: list[dict] = field(default_factory=list)
    conv_dense: dict = field(default_factory=dict)
    cca: list[dict] = field(default_factory=list)
    cca_dense: dict = field(default_factory=dict)
    seconds: float = 0.0


def _fwd_bwd(fn, inputs, grad):
    def run():
        for t in inputs:
            t.grad = None
        fn().backward(grad)
    return run


def _no_grad(fn):
    def run():
        with torch.no_grad():
            fn()
    return run


def bench_conv(b: Bench, size: int, c: int, masks, densities, budget: float) -> None:
    dev = torch.device(b.device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, c, size, size, generator=gen).to(dev).requires_grad_()
    weight = (torch.randn(c, c, 3, 3, generator=gen) / (9 * c) ** 0.5).to(dev).requires_grad_()
    bias = torch.zeros(c, device=dev, requires_grad=True)
    grad = torch.randn(1, c, size, size, generator=gen).to(dev)
    leaves = (x, weight, bias)
    t = lambda fn: time_call(fn, dev, min_reps=2, budget_s=budget)  # noqa: E731
    full = torch.ones(1, 1, size, size, device=dev)
    dense = dict(
        fwd=t(_no_grad(lambda: F.conv2d(x, weight, bias, padding=1))),
        fwdbwd=t(_fwd_bwd(lambda: F.conv2d(x, weight, bias, padding=1), leaves, grad)),
        masked_fwd=t(_no_grad(lambda: dense_masked_conv(x, full, weight, bias))),
        masked_fwdbwd=t(_fwd_bwd(lambda: dense_masked_conv(x, full, weight, bias), leaves,
                                 grad)),
    )
    ref_mask = make_mask('blob', 0.1, size, size).to(dev)
    dense['reference_fwd'] = t(_no_grad(
        lambda: reference.sparse_conv2d(x, ref_mask, weight, bias)))
    dense['reference_fwdbwd'] = t(_fwd_bwd(
        lambda: reference.sparse_conv2d(x, ref_mask, weight, bias), leaves, grad))
    b.conv_dense[(size, c)] = dense
    for kind in masks:
        for density in densities:
            mask = make_mask(kind, density, size, size).to(dev)
            plan_s = t(lambda: compiled.sparse_plan(mask, 3, 1))  # noqa: B023
            plan = compiled.sparse_plan(mask, 3, 1)

            def sc(mask=mask, plan=plan):
                return compiled.sparse_conv2d(x, mask, weight, bias, plan=plan)
            row = dict(size=size, c=c, mask=kind, density=float(mask.mean()),
                       active=plan.num_active, plan=plan_s, fwd=t(_no_grad(sc)),
                       fwdbwd=t(_fwd_bwd(sc, leaves, grad)))
            row['flops_fwd'] = 2.0 * plan.num_active * c * c * 9
            b.conv.append(row)


def _cca_pairs(mask: torch.Tensor) -> int:
    """Query-key pairs the sparse kernel evaluates: sum over degraded pixels of the
    clean pixels in their row and column."""
    m = mask[:, 0] > 0.5
    clean_rows = (~m).sum(dim=2, keepdim=True)  # per row
    clean_cols = (~m).sum(dim=1, keepdim=True)
    return int(((clean_rows + clean_cols) * m).sum())


def bench_cca(b: Bench, size: int, c: int, masks, densities, budget: float,
              dense_limit_bytes: float) -> None:
    dev = torch.device(b.device)
    cq = max(8, c // 8)  # CCNet's reduced query/key width
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(1, cq, size, size, generator=gen).to(dev).requires_grad_()
    k = torch.randn(1, cq, size, size, generator=gen).to(dev).requires_grad_()
    v = torch.randn(1, c, size, size, generator=gen).to(dev).requires_grad_()
    w = torch.softmax(torch.randn(1, 4, size, size, generator=gen), 1).to(dev).requires_grad_()
    grad = torch.randn(1, c, size, size, generator=gen).to(dev)
    leaves = (q, k, v, w)
    scale = cq ** -0.5
    t = lambda fn: time_call(fn, dev, min_reps=2, budget_s=budget)  # noqa: E731
    # The dense version keeps ~10 float32 tensors of N*H*W*(H+W) for backward.
    dense_bytes = 10 * 4 * size * size * 2 * size
    dmask = make_mask('blob', 0.1, size, size).to(dev)
    if dense_bytes <= dense_limit_bytes:
        fn = lambda: dense_masked_cca(q, k, v, dmask, w, scale)  # noqa: E731
        # Seconds per call, far above any warm-up effect: in --quick mode one call each.
        slow = (lambda f: time_call(f, dev, min_reps=1, warmup=0, budget_s=0)) if b.quick \
            else t
        b.cca_dense[(size, c)] = dict(fwd=slow(_no_grad(fn)),
                                      fwdbwd=slow(_fwd_bwd(fn, leaves, grad)))
    else:
        b.cca_dense[(size, c)] = dict(fwd=math.nan, fwdbwd=math.nan)
    for kind in masks:
        for density in densities:
            mask = make_mask(kind, density, size, size).to(dev)
            fn = lambda mask=mask: compiled.masked_criss_cross_attention(  # noqa: E731
                q, k, v, mask, w, scale)
            ref = lambda mask=mask: reference.masked_criss_cross_attention(  # noqa: E731
                q, k, v, mask, w, scale)
            pairs = _cca_pairs(mask)
            b.cca.append(dict(
                size=size, c=c, cq=cq, mask=kind, density=float(mask.mean()), pairs=pairs,
                fwd=t(_no_grad(fn)), fwdbwd=t(_fwd_bwd(fn, leaves, grad)),
                # The reference is timed on blob masks only, to bound the sweep's time.
                ref_fwd=t(_no_grad(ref)) if kind == 'blob' else math.nan,
                ref_fwdbwd=t(_fwd_bwd(ref, leaves, grad)) if kind == 'blob' else math.nan,
                flops_fwd=2.0 * pairs * (cq + c), flops_fwdbwd=2.0 * pairs * (5 * cq + 4 * c)))


def run(quick: bool = False, device: str = 'cpu', sizes=None, channels=None, masks=None,
        densities=None, budget: float | None = None, log=print,
        configs: list[tuple[int, int]] | None = None) -> Bench:
    """Run the sweep (or the quick subset) and return the measurements.

    ``configs`` lists (size, channels) pairs to run instead of sizes x channels.
    """
    cfg = dict(QUICK if quick else FULL)
    for key, value in (('sizes', sizes), ('channels', channels), ('masks', masks),
                       ('densities', densities)):
        if value:
            cfg[key] = tuple(value)
    budget = budget if budget is not None else (0.2 if quick else 0.5)
    kind = 'cuda' if device.startswith('cuda') else 'cpp'
    compiled.load(kind)  # build (or load) before any timing
    start = time.perf_counter()
    b = Bench(device=device, quick=quick)
    b.gemm_flops = gemm_rate(device)
    log(f'GEMM rate: {b.gemm_flops / 1e9:.1f} GFLOP/s')
    if torch.device(device).type == 'cuda':
        limit = torch.cuda.get_device_properties(0).total_memory / 3
    else:
        limit = 0.25 * os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    pairs = configs or [(size, c) for size in cfg['sizes'] for c in cfg['channels']]
    for size, c in pairs:
        log(f'sparse_conv2d  {size}x{size} C={c} ...')
        bench_conv(b, size, c, cfg['masks'], cfg['densities'], budget)
        log(f'criss-cross    {size}x{size} C={c} ...')
        cca_densities = [d for d in cfg['densities'] if d < 1.0] or cfg['densities']
        bench_cca(b, size, c, cfg['masks'], cca_densities, budget, limit)
    b.seconds = time.perf_counter() - start
    return b


# --------------------------------------------------------------------- reporting
def crossover(rows: list[dict], dense_fwd: float) -> str:
    """Density where the sparse forward time reaches the dense conv2d time."""
    pts = sorted((r['density'], r['fwd']) for r in rows)
    if pts[0][1] >= dense_fwd:
        return f'< {pts[0][0]:.2f}'
    for (d0, t0), (d1, t1) in zip(pts, pts[1:]):
        if t1 >= dense_fwd:
            return f'{d0 + (dense_fwd - t0) * (d1 - d0) / (t1 - t0):.2f}'
    return f'> {pts[-1][0]:.2f} (never)'


def _load() -> str:
    try:
        return ' '.join(f'{v:.1f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


def _ms(seconds: float) -> str:
    return '-' if seconds != seconds else f'{seconds * 1e3:.2f}'


def _x(ratio: float) -> str:
    return '-' if ratio != ratio else f'{ratio:.3f}x'


def _ratio(seconds: float, floor: float) -> str:
    return '-' if not floor or floor != floor else f'{seconds / floor:.1f}'


def targets(b: Bench) -> list[tuple[str, float, float]]:
    """(target, measured ratio, limit) for the project's stated targets, where measured."""
    out = []
    size, c, kind = TARGET['size'], TARGET['channels'], TARGET['mask']
    dense = b.conv_dense.get((size, c))
    rows = [r for r in b.conv if (r['size'], r['c'], r['mask']) == (size, c, kind)]
    at = {round(r['density'], 2): r for r in rows}
    if dense and 0.1 in at:
        out.append(('sparse_conv2d fwd / dense conv2d fwd @10% blob', at[0.1]['fwd'] / dense['fwd'],
                    0.2))
        out.append(('sparse_conv2d fwd+bwd / dense fwd+bwd @10% blob',
                    at[0.1]['fwdbwd'] / dense['fwdbwd'], 0.3))
    if dense and 1.0 in at:
        out.append(('sparse_conv2d fwd / dense conv2d fwd @100%', at[1.0]['fwd'] / dense['fwd'],
                    1.5))
    cca_dense = b.cca_dense.get((size, c))
    cca = [r for r in b.cca if (r['size'], r['c'], r['mask']) == (size, c, kind)
           and round(r['density'], 2) == 0.1]
    if cca_dense and cca:
        out.append(('criss-cross fwd / dense masked einsum fwd @10% blob',
                    cca[0]['fwd'] / cca_dense['fwd'], 0.05))
        out.append(('criss-cross fwd+bwd / dense masked einsum fwd+bwd @10% blob',
                    cca[0]['fwdbwd'] / cca_dense['fwdbwd'], 0.1))
    return out


def render_markdown(b: Bench, command: str) -> str:
    threads = torch.get_num_threads()
    lines = [
        BEGIN,
        '## Operators',
        '',
        f'Produced by `{command}` in {b.seconds:.0f} s on {b.device} '
        f'({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, '
        f'{threads} torch threads, load average {_load()}, torch {torch.__version__}); '
        f'measured GEMM rate '
        f'{b.gemm_flops / 1e9:.1f} GFLOP/s (float32). N=1, 3x3 kernels, float32, fastest '
        'of several calls; ratios compare timings of the same run. The machine may be '
        'shared: absolute times are noisy, ratios less so.',
        '',
        '### Targets',
        '',
        '| target | measured | limit | met |',
        '| --- | --- | --- | --- |',
    ]
    for name, ratio, limit in targets(b):
        lines.append(f'| {name} | {_x(ratio)} | {limit}x | {"yes" if ratio <= limit else "no"} |')
    lines += ['', '### sparse_conv2d', '',
              'plan: building the active-site index (once per mask, shared by the layers of '
              'an SC block); floor: GEMM FLOPs at the measured GEMM rate.', '',
              '| size | C | mask | density | plan ms | fwd ms | fwd / dense | fwd / floor | '
              'fwd+bwd ms | fwd+bwd / dense |',
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in b.conv:
        d = b.conv_dense[(r['size'], r['c'])]
        floor = r['flops_fwd'] / b.gemm_flops if r['flops_fwd'] else math.nan
        lines.append(
            f"| {r['size']} | {r['c']} | {r['mask']} | {r['density']:.3f} | {_ms(r['plan'])} | "
            f"{_ms(r['fwd'])} | {_x(r['fwd'] / d['fwd'])} | "
            f"{_ratio(r['fwd'], floor)} | "
            f"{_ms(r['fwdbwd'])} | {_x(r['fwdbwd'] / d['fwdbwd'])} |")
    lines += ['', 'Dense baselines on the same tensors (ms): dense conv2d, dense masked '
              '`M*conv(x*M)`, reference `sparse_conv2d` (10% blob mask).', '',
              '| size | C | conv2d fwd | conv2d fwd+bwd | masked fwd | masked fwd+bwd | '
              'reference fwd | reference fwd+bwd |',
              '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for (size, c), d in b.conv_dense.items():
        lines.append(f"| {size} | {c} | {_ms(d['fwd'])} | {_ms(d['fwdbwd'])} | "
                     f"{_ms(d['masked_fwd'])} | {_ms(d['masked_fwdbwd'])} | "
                     f"{_ms(d['reference_fwd'])} | {_ms(d['reference_fwdbwd'])} |")
    lines += ['', 'Crossover density (sparse forward = dense conv2d forward):', '',
              '| size | C | mask | crossover |', '| --- | --- | --- | --- |']
    groups: dict = {}
    for r in b.conv:
        groups.setdefault((r['size'], r['c'], r['mask']), []).append(r)
    for (size, c, kind), rows in groups.items():
        lines.append(f'| {size} | {c} | {kind} | '
                     f"{crossover(rows, b.conv_dense[(size, c)]['fwd'])} |")
    lines += ['', '### masked_criss_cross_attention', '',
              'Cq = max(8, C/8). dense: the masked einsum version over all pixels; '
              'reference: the line-chunked PyTorch reference; floor: the query-key '
              'FLOPs at the GEMM rate.', '',
              '| size | C | mask | density | fwd ms | fwd / dense | fwd / reference | '
              'fwd / floor | fwd+bwd ms | fwd+bwd / dense | fwd+bwd / reference |',
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in b.cca:
        d = b.cca_dense[(r['size'], r['c'])]
        floor = r['flops_fwd'] / b.gemm_flops
        lines.append(
            f"| {r['size']} | {r['c']} | {r['mask']} | {r['density']:.3f} | {_ms(r['fwd'])} | "
            f"{_x(r['fwd'] / d['fwd'])} | {_x(r['fwd'] / r['ref_fwd'])} | "
            f"{_ratio(r['fwd'], floor)} | {_ms(r['fwdbwd'])} | "
            f"{_x(r['fwdbwd'] / d['fwdbwd'])} | {_x(r['fwdbwd'] / r['ref_fwdbwd'])} |")
    lines += ['', 'Dense masked einsum baseline (ms; "-": skipped, its attention tensors '
              'would not fit the memory limit):', '',
              '| size | C | fwd | fwd+bwd |', '| --- | --- | --- | --- |']
    for (size, c), d in b.cca_dense.items():
        lines.append(f"| {size} | {c} | {_ms(d['fwd'])} | {_ms(d['fwdbwd'])} |")
    lines += ['', END]
    return '\n'.join(lines)


def write_section(text: str, path: Path = DOC) -> None:
    """Replace (or append) the Operators section of ``path``, leaving the rest as is."""
    old = path.read_text() if path.exists() else '# Benchmarks\n'
    pattern = re.compile(re.escape(BEGIN) + '.*?' + re.escape(END), re.S)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else \
        old.rstrip('\n') + '\n\n' + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new.rstrip('\n') + '\n')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='one configuration (< 60 s)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--sizes', type=int, nargs='+')
    parser.add_argument('--channels', type=int, nargs='+')
    parser.add_argument('--masks', nargs='+', choices=('blob', 'streak', 'random'))
    parser.add_argument('--densities', type=float, nargs='+')
    parser.add_argument('--configs', nargs='+', metavar='SIZExC',
                        help='(size, channels) pairs such as 256x64 512x64, instead of the '
                             'product of --sizes and --channels')
    parser.add_argument('--budget', type=float, help='seconds of repetitions per timing')
    parser.add_argument('--threads', type=int,
                        help='torch CPU threads (default: torch\'s choice); 1 gives stable '
                             'ratios on a machine whose other cores are busy')
    parser.add_argument('--write', type=Path, default=None,
                        help='markdown file to update (default: docs/benchmarks.md for a '
                             'full CPU sweep, nothing otherwise)')
    parser.add_argument('--no-write', action='store_true')
    args = parser.parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is visible to PyTorch')
    if args.threads is not None:
        if args.threads < 1:
            parser.error('--threads must be >= 1')
        torch.set_num_threads(args.threads)
    configs = None
    if args.configs:
        try:
            configs = [tuple(int(v) for v in item.lower().split('x')) for item in args.configs]
        except ValueError:
            parser.error(f'--configs takes SIZExC pairs such as 256x64, got {args.configs}')
        if any(len(pair) != 2 for pair in configs):
            parser.error(f'--configs takes SIZExC pairs such as 256x64, got {args.configs}')
    b = run(args.quick, args.device, args.sizes, args.channels, args.masks, args.densities,
            args.budget, log=lambda s: print(s, file=sys.stderr, flush=True), configs=configs)
    command = 'python benchmarks/ops.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    text = render_markdown(b, command.strip())
    print(text)
    target = args.write or (DOC if not args.quick and args.device == 'cpu' else None)
    if target is not None and not args.no_write:
        write_section(text, target)
        print(f'wrote the Operators section of {target}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
