"""Figures for docs/benchmarks.md from benchmarks/results/{model,ablation}.json.

    python benchmarks/plots.py            # writes docs/img/*.png

* ``model_time_vs_density.png``  Net_R latency vs degraded fraction, SPAIR per operator
  backend against Net1, one panel per image size (the headline figure);
* ``model_time_vs_resolution.png``  latency vs image side at a few densities;
* ``<run>_psnr.png``  held-out PSNR per ladder step, per task (seed mean and spread),
  for every ``results/ablation*.json`` (``<run>`` is the file's stem);
* ``<run>_regions.png``  PSNR on degraded and on clean pixels per ladder step;
* ``backbone_ladders_curves.png``  training loss per rung of the DED and NAF ladders
  (seed mean), from ``results/backbone_ladders_*.json``: do the curves flatten?
* ``backbone_ladders_regions.png``  degraded / clean PSNR per rung of both ladders.

A figure whose results file is missing is not drawn, and the script says so.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results'
IMG = ROOT / 'docs' / 'img'
BACKEND_STYLE = {'cpp': ('tab:blue', 'o', 'SPAIR, compiled C++ ops'),
                 'cuda': ('tab:purple', 'D', 'SPAIR, compiled CUDA ops'),
                 'torch': ('tab:orange', 's', 'SPAIR, PyTorch reference ops')}


def _subtitle(data: dict) -> str:
    m = data['machine']
    threads = m['torch_threads']
    return (f"{m['cpu']}, {threads} torch thread{'s' if threads != 1 else ''}, "
            f"torch {m['torch']}, {m['date_utc']} UTC")


def _min_span(ax, span: float = 1.0) -> None:
    """Widen the y axis to at least ``span`` dB, so noise does not look like a trend."""
    lo, hi = ax.get_ylim()
    if hi - lo < span:
        mid = (lo + hi) / 2
        ax.set_ylim(mid - span / 2, mid + span / 2)


def plot_time_vs_density(model: dict, out: Path) -> None:
    rows = model['latency']
    sizes = sorted({r['size'] for r in rows})
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.6 * len(sizes), 3.8), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for backend, (colour, marker, label) in BACKEND_STYLE.items():
            pts = sorted((r['density'], r['median_s']) for r in rows
                         if r['model'] == 'SPAIR' and r['size'] == size
                         and r['backend'] == backend and r['median_s'] is not None)
            if pts:
                ax.plot([100 * d for d, _ in pts], [1e3 * t for _, t in pts], marker=marker,
                        color=colour, label=label)
            skipped = [r for r in rows if r['model'] == 'SPAIR' and r['size'] == size
                       and r['backend'] == backend and r['median_s'] is None]
            if skipped:
                ax.text(0.02, 0.97, f'{backend}: {len(skipped)} densities skipped (too slow)',
                        transform=ax.transAxes, va='top', fontsize=7, color=colour)
        net1 = [r['median_s'] for r in rows if r['model'] == 'Net1' and r['size'] == size]
        if net1:
            ax.axhline(1e3 * net1[0], color='black', ls='--', label='Net1 (dense, static)')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('degraded pixels (%)')
        ax.set_ylabel('Net_R latency (ms)')
        ax.set_title(f'{size}x{size}')
        ax.grid(True, which='both', alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle('Inference time vs degraded fraction (forced masks): ' + _subtitle(model),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_time_vs_resolution(model: dict, out: Path, densities=(0.05, 0.25, 1.0)) -> None:
    rows = model['latency']
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    styles = ['-', '-.', ':']
    for backend, (colour, marker, label) in BACKEND_STYLE.items():
        for density, ls in zip(densities, styles):
            pts = sorted((r['size'], r['median_s']) for r in rows
                         if r['model'] == 'SPAIR' and r['backend'] == backend
                         and r['density'] == density and r['median_s'] is not None)
            if pts:
                ax.plot([s for s, _ in pts], [1e3 * t for _, t in pts], marker=marker,
                        ls=ls, color=colour, label=f'{label}, {100 * density:g}%')
    pts = sorted((r['size'], r['median_s']) for r in rows if r['model'] == 'Net1')
    if pts:
        ax.plot([s for s, _ in pts], [1e3 * t for _, t in pts], 'k--', marker='^',
                label='Net1 (any density)')
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xlabel('image side (pixels)')
    ax.set_ylabel('Net_R latency (ms)')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title('Inference time vs resolution\n' + _subtitle(model), fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _summary_by_task(ablation: dict) -> dict:
    tasks: dict = {}
    for row in ablation['summary']:
        tasks.setdefault(row['task'], []).append(row)
    return tasks


def plot_ablation_psnr(ablation: dict, out: Path) -> None:
    tasks = _summary_by_task(ablation)
    fig, axes = plt.subplots(1, len(tasks), figsize=(max(5 * len(tasks), 8.5), 3.8), squeeze=False)
    for ax, (task, rows) in zip(axes[0], tasks.items()):
        names = [r['rung'] for r in rows]
        means = [r['PSNR'] for r in rows]
        errs = [r.get('PSNR_std') or 0.0 for r in rows]
        ax.errorbar(range(len(rows)), means, yerr=errs, marker='o', capsize=4,
                    color='tab:blue', label='restored (mean ± std over seeds)')
        ax.axhline(rows[0]['input_PSNR'], color='grey', ls=':', label='input')
        for run in ablation['runs']:
            if run['task'] == task and run['rung'] in names:
                ax.plot(names.index(run['rung']), run['metrics']['PSNR'], 'x', color='k',
                        ms=5, alpha=0.6)
        ax.set_xticks(range(len(rows)), names)
        ax.set_ylabel('held-out PSNR, Y (dB)')
        _min_span(ax)
        seeds = len(rows[0]['seeds'])
        ax.set_title(f'{task} ({seeds} seed{"s" if seeds > 1 else ""}; x = one seed)')
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle('Table 6 ladder under one fixed CPU budget: ' + _subtitle(ablation),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_ablation_regions(ablation: dict, out: Path, label_rotation: int = 0) -> None:
    tasks = _summary_by_task(ablation)
    fig, axes = plt.subplots(1, len(tasks), figsize=(max(5 * len(tasks), 8.5), 3.8), squeeze=False)
    for ax, (task, rows) in zip(axes[0], tasks.items()):
        x = range(len(rows))
        for key, colour, label in (('PSNR_degraded', 'tab:red', 'degraded pixels'),
                                   ('PSNR_clean', 'tab:green', 'clean pixels')):
            ax.errorbar(x, [r[key] for r in rows],
                        yerr=[r.get(f'{key}_std') or 0.0 for r in rows], marker='o',
                        capsize=4, color=colour, label=f'{label}, restored')
            ax.axhline(rows[0][f'input_{key}'], color=colour, ls=':',
                       label=f'{label}, input')
        ax.set_xticks(list(x), [r['rung'] for r in rows], rotation=label_rotation,
                      ha='right' if label_rotation else 'center', fontsize=8)
        ax.set_ylabel('held-out PSNR, Y (dB)')
        _min_span(ax)
        ax.set_title(task)
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle('PSNR on degraded vs clean pixels: ' + _subtitle(ablation), fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_ladder_curves(ladders: dict, out: Path) -> None:
    import numpy as np

    tasks = list(dict.fromkeys(r['task'] for r in ladders['runs']))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        runs = [r for r in ladders['runs'] if r['task'] == task and r.get('curve')]
        for name in dict.fromkeys(r['rung'] for r in runs):
            curves = [r['curve'] for r in runs if r['rung'] == name]
            n = min(len(c) for c in curves)
            iters = [p['iter'] for p in curves[0][:n]]
            loss = np.mean([[p['loss'] for p in c[:n]] for c in curves], axis=0)
            ax.plot(iters, loss, label=f'{name} ({len(curves)} seed{"s" * (len(curves) > 1)})',
                    ls='-' if name.startswith('NAF') else '--')
        ax.set_yscale('log')
        ax.set_xlabel('iteration')
        ax.set_ylabel('training loss (logged window mean)')
        ax.set_title(task)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle('DED (dashed) and NAF (solid) ladders, one budget: ' + _subtitle(ladders),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_ladder_regions(ladders: dict, out: Path) -> None:
    from spairkit.benchmarking.backbone_ladders import summarise

    rows = sorted(summarise(ladders), key=lambda r: ', no gate' in r['rung'])  # ablation last
    plot_ablation_regions({'summary': rows, 'machine': ladders['machine']}, out,
                          label_rotation=35)


def latency_pivot(model: dict) -> str:
    """Markdown: one row per density, one column per size x backend (Net_R ms)."""
    from spairkit.benchmarking.tables import format_ms, markdown_table

    rows = model['latency']
    sizes = sorted({r['size'] for r in rows})
    backends = [b for b in BACKEND_STYLE if any(r['backend'] == b for r in rows)]
    cols = [(s, b) for s in sizes for b in backends]
    header = ['net, degraded'] + [f'{s}² {b}' for s, b in cols]
    table = []
    net1 = {r['size']: r['median_s'] for r in rows if r['model'] == 'Net1'}
    table.append(['Net1 (any)'] + [format_ms(net1.get(s)) for s, _ in cols])
    for density in sorted({r['density'] for r in rows if r['model'] == 'SPAIR'}):
        cells = []
        for s, b in cols:
            hit = [r for r in rows if r['model'] == 'SPAIR' and r['size'] == s
                   and r['backend'] == b and r['density'] == density]
            if not hit:
                cells.append('-')
            elif hit[0]['median_s'] is None:
                cells.append('skipped')
            else:
                cells.append(format_ms(hit[0]['median_s']))
        table.append([f'SPAIR, {100 * density:g}%'] + cells)
    netl = {r['size']: r['median_s'] for r in rows if r['model'] == 'Net_L'}
    if netl:
        table.append(['(Net_L, any)'] + [format_ms(netl.get(s)) for s, _ in cols])
    return markdown_table(header, table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='draw the benchmark figures')
    p.add_argument('--results', type=Path, default=RESULTS)
    p.add_argument('--out', type=Path, default=IMG)
    p.add_argument('--markdown', action='store_true',
                   help='also print the results as Markdown tables (for docs/benchmarks.md)')
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    drawn = 0
    model_json = args.results / 'model.json'
    if model_json.is_file():
        model = json.loads(model_json.read_text())
        plot_time_vs_density(model, args.out / 'model_time_vs_density.png')
        plot_time_vs_resolution(model, args.out / 'model_time_vs_resolution.png')
        drawn += 2
        if args.markdown:
            print(latency_pivot(model) + '\n')
    else:
        print(f'no {model_json}: model figures not drawn (run benchmarks/model.py)')
    ablation_files = sorted(args.results.glob('ablation*.json'))
    if not ablation_files:
        print(f'no {args.results}/ablation*.json: ablation figures not drawn '
              '(run benchmarks/ablation.py)')
    for path in ablation_files:  # one pair of figures per ablation run (file stem)
        ablation = json.loads(path.read_text())
        if not ablation.get('summary'):
            print(f'{path} has no summary (partial run; see ablation.py --summarise): '
                  'its figures are not drawn')
            continue
        plot_ablation_psnr(ablation, args.out / f'{path.stem}_psnr.png')
        plot_ablation_regions(ablation, args.out / f'{path.stem}_regions.png')
        drawn += 2
        if args.markdown:
            from spairkit.benchmarking.ablation import ablation_table
            print(f'{path.name}:\n' + ablation_table(ablation['summary']) + '\n')
    ladder_files = sorted(args.results.glob('backbone_ladders_*.json'))
    if ladder_files:
        ladders = {'runs': [], 'machine': json.loads(ladder_files[0].read_text())['machine']}
        for path in ladder_files:
            ladders['runs'] += json.loads(path.read_text()).get('runs', [])
        if ladders['runs']:
            plot_ladder_curves(ladders, args.out / 'backbone_ladders_curves.png')
            plot_ladder_regions(ladders, args.out / 'backbone_ladders_regions.png')
            drawn += 2
    else:
        print(f'no {args.results}/backbone_ladders_*.json: ladder figures not drawn '
              '(run benchmarks/backbone_ladders.py)')
    print(f'{drawn} figures written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
