"""Two ladders under one budget: the paper's DED family and the NAF family.

Issue "A backbone that competes": does SPAIR's guidance (SFM, SC, SNL, the output
gate) beat a plain dense NAFNet of the same size trained the same way? Every rung is
trained on the demo's recipe (``spairkit::demo/demo_restorer.py`` and the task's own
``demo_options``: data, pixel loss, optimiser, cosine schedule), with one Net_L per
task trained once by the demo's localizer recipe and shared (frozen) by every guided
rung, and evaluated on the demo's held-out photographs with the task's mask rule.

What is held equal, and how:

* **Parameters.** Each rung's Net_R width is the one whose parameter count is closest
  to the reference rung's (NAF alone at ``reference_width``), and must lie within
  ``tolerance`` of it (:func:`match_width`). Guided rungs carry Net_L on top (reported
  as ``netl_params``): the Net_R-matched comparison is the paper's (Table 6 counts
  Net_R), and the table shows the totals beside it.
* **Budget.** The same iterations, batch, crop, schedule, data and seed for every rung.
* **Guidance.** A guided rung (``Rung.guided``) is built with Net_L and the demo's
  output gate (clean pixels outside the dilated mask are returned as they came in); an
  unguided one (Net1, NAF) with no Net_L at all: the ground-truth mask is then only used
  by the region metrics.

``benchmarks/backbone_ladders.py`` is the command line; this module holds the logic
so the tests can check the contract (equal budgets, matched widths) cheaply.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from spairkit.config import load_config
from spairkit.errors import ConfigError

from .ablation import (
    METRIC_KEYS,
    bare_model,
    inference_time,
    run_summary,
    set_budget,
    train_runner,
)
from .ladder import FAMILIES, Rung, model_cfg, rung, width_key
from .model_quick import count_parameters

RESTORER_RECIPE = 'spairkit::demo/demo_restorer.py'
LOCALIZER_RECIPE = 'spairkit::demo/demo_localizer.py'


@dataclasses.dataclass
class LadderSettings:
    """One budget for every rung of both families (and the task's shared Net_L)."""

    tasks: tuple[str, ...] = ('rain_streak', 'raindrop')
    families: tuple[str, ...] = ('naf', 'ded')
    seeds: tuple[int, ...] = (0, 1, 2)
    skip_rungs: tuple[str, ...] = ()
    gate: bool = True  # False: guided rungs without the output gate (an ablation of it)
    #: task -> a Net_L checkpoint trained earlier by this recipe (not trained again)
    netl_checkpoints: dict = dataclasses.field(default_factory=dict)
    netr_iters: int = 2000
    batch_size: int = 2
    crop_size: int = 96
    reference: str = 'NAF'
    reference_width: int = 16
    tolerance: float = 0.10
    netl_iters: int | None = None  # None: the demo localizer's own budget
    curve_points: int = 20
    heldout_samples: int | None = None  # None: the demo's held-out set
    timing_reps: int = 3
    work_dir: str = 'work_dirs/backbone_ladders'

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def family_rungs(family: str) -> tuple[Rung, ...]:
    if family not in FAMILIES:
        raise ConfigError(f'unknown ladder family {family!r}; choose from '
                          f'{", ".join(FAMILIES)}')
    return FAMILIES[family]


def base_model(name: str, gate: bool = True) -> dict:
    """Rung ``name``'s model on the demo's Net_L, with or without guidance (module doc);
    ``gate=False`` drops the output gate of a guided rung."""
    recipe = load_config(RESTORER_RECIPE).model.to_dict()
    model = model_cfg(name, small=True)
    netr = model['netr']
    if rung(name).guided:
        model = dict(recipe, netr=netr, with_netl=True)
        if not gate:
            model['output_gate'] = None
    else:
        model = dict(recipe, netr=netr, with_netl=False, output_gate=None)
    model['netl_checkpoint'] = None
    model['stage'] = 'restorer'
    return model


def with_width(model: dict, width: int) -> dict:
    """A copy of ``model`` whose Net_R has level-0 width ``width``."""
    model = copy.deepcopy(model)
    model['netr'][width_key(model['netr'])] = width
    return model


def netr_parameters(model: dict) -> tuple[int, int]:
    """``(Net_R, Net_L)`` parameter counts of a built model config (Net_L 0 if none)."""
    from spairkit.registry import MODELS

    built = MODELS.build(copy.deepcopy(model))
    netl = count_parameters(built.netl) if getattr(built, 'netl', None) is not None else 0
    return count_parameters(built.netr), netl


def match_width(model: dict, target: int, tolerance: float,
                widths: Sequence[int] = range(4, 97)) -> tuple[int, int]:
    """The width whose Net_R parameter count is closest to ``target``: ``(width, params)``.

    Raises :class:`ConfigError` when even the closest is off by more than ``tolerance``
    (a fraction of ``target``). Parameters grow with width, so the scan stops past it.
    """
    best: tuple[int, int] | None = None
    for width in widths:
        try:
            params, _ = netr_parameters(with_width(model, width))
        except (ValueError, ConfigError):  # e.g. a width some block cannot split
            continue
        if best is None or abs(params - target) < abs(best[1] - target):
            best = (width, params)
        if params > target:
            break
    if best is None or abs(best[1] - target) > tolerance * target:
        found = 'none' if best is None else f'width {best[0]}: {best[1]}'
        raise ConfigError(f'{model["netr"]["type"]}: no width gives {target} Net_R '
                          f'parameters within {tolerance:.0%} (closest {found})')
    return best


def matched_models(settings: LadderSettings) -> dict[str, dict]:
    """Every rung's model config at its matched width, plus the parameter counts."""
    reference = with_width(base_model(settings.reference), settings.reference_width)
    target, _ = netr_parameters(reference)
    out = {}
    for family in settings.families:
        for r in family_rungs(family):
            model = base_model(r.name, settings.gate)
            width, params = match_width(model, target, settings.tolerance)
            model = with_width(model, width)
            _, netl = netr_parameters(model)
            label = r.name if settings.gate or not r.guided else f'{r.name}, no gate'
            out[r.name] = {'family': family, 'label': label, 'model': model, 'width': width,
                           'netr_params': params, 'netl_params': netl,
                           'target_params': target}
    return out


def _set_crop(pipeline: list, size: int) -> None:
    for step in pipeline:
        if step['type'] == 'PairedRandomCrop':
            step['size'] = size
            return
    raise ConfigError('the demo recipe has no PairedRandomCrop to resize')


def localizer_config(task: str, settings: LadderSettings, work_dir: Path):
    """The task's shared Net_L: the demo's localizer recipe (seed 0)."""
    from spairkit.demo.pipeline import use_task

    cfg = load_config(LOCALIZER_RECIPE)
    use_task(cfg, task)
    iters = settings.netl_iters or cfg.train_cfg.max_iters
    set_budget(cfg, iters, 0, work_dir, eta_min=1e-5, log_points=settings.curve_points)
    if settings.heldout_samples:
        cfg.test_dataloader.dataset.num_samples = settings.heldout_samples
    return cfg


def rung_config(model: dict, task: str, settings: LadderSettings, seed: int,
                netl_checkpoint: str | None, work_dir: Path):
    """One rung's restorer stage: the demo recipe with ``model`` and the ladder budget."""
    from spairkit.demo.pipeline import use_task

    cfg = load_config(RESTORER_RECIPE)
    use_task(cfg, task)  # the task's data and demo_options (e.g. its pixel loss)
    pixel_loss = cfg.model.to_dict().get('pixel_loss')
    model = copy.deepcopy(model)
    if pixel_loss is not None:
        model['pixel_loss'] = pixel_loss
    if model.get('with_netl', True):
        model['netl_checkpoint'] = netl_checkpoint
    cfg.model = model
    cfg.train_dataloader.batch_size = settings.batch_size
    _set_crop(cfg.train_dataloader.dataset.pipeline, settings.crop_size)
    if settings.heldout_samples:
        cfg.test_dataloader.dataset.num_samples = settings.heldout_samples
    set_budget(cfg, settings.netr_iters, seed, work_dir, eta_min=1e-5,
               log_points=settings.curve_points)
    return cfg


def loss_curve(work_dir: Path) -> list[dict]:
    """The training loss logged every ``iters // curve_points`` iterations.

    Read from MMEngine's LocalVisBackend file (``<work_dir>/<time>/vis_data/scalars.json``):
    the newest one that holds training losses, since a later runner in the same work
    directory (testing, timing) starts a new timestamped folder without them.
    """
    for file in sorted(Path(work_dir).glob('*/vis_data/scalars.json'), reverse=True):
        records = [json.loads(line) for line in file.read_text().splitlines()]
        curve = [{'iter': int(r['iter']), 'loss': float(r['loss'])}
                 for r in records if 'loss' in r and 'iter' in r]
        if curve:
            return curve
    return []


def train_localizer(task: str, settings: LadderSettings, work_dir: Path) -> dict:
    from spairkit.checkpoint import latest_checkpoint

    runner, seconds = train_runner(localizer_config(task, settings, work_dir))
    metrics = {k: float(v) for k, v in runner.test().items() if k.startswith('mask/')}
    return {'checkpoint': str(latest_checkpoint(work_dir)), 'train_s': seconds,
            'params': count_parameters(bare_model(runner.model).netl), 'metrics': metrics,
            'curve': loss_curve(work_dir)}


def train_rung(name: str, entry: dict, task: str, settings: LadderSettings, seed: int,
               netl_checkpoint: str | None, work_dir: Path) -> dict:
    cfg = rung_config(entry['model'], task, settings, seed, netl_checkpoint, work_dir)
    runner, seconds = train_runner(cfg)
    metrics = {k: float(v) for k, v in runner.test().items()}
    model = bare_model(runner.model)
    size = cfg.test_dataloader.dataset.patch_size
    return {'rung': entry['label'], 'family': entry['family'], 'task': task, 'seed': seed,
            'width': entry['width'], 'netr_params': entry['netr_params'],
            'netl_params': entry['netl_params'], 'train_s': seconds,
            'infer_s': inference_time(model, size, settings.timing_reps),
            'metrics': metrics, 'curve': loss_curve(work_dir)}


def run_ladders(settings: LadderSettings, log: Callable[[str], None] = print,
                on_result: Callable[[dict], None] | None = None,
                time_limit_s: float | None = None) -> dict:
    """Per task: its Net_L once; then blocks of (family, seed), NAF family first.

    A block is skipped (listed under ``not_run``) when the last block's duration says
    it would end past ``time_limit_s``, so a stopped run still holds whole ladders.
    """
    from spairkit.tasks import get_task

    for task in settings.tasks:
        get_task(task)
    models = matched_models(settings)
    root = Path(settings.work_dir)
    results: dict = {'settings': settings.to_dict(), 'rungs': {
        name: {k: v for k, v in e.items() if k != 'model'} | {'model': e['model']['netr']}
        for name, e in models.items()}, 'localizers': {}, 'runs': [], 'not_run': [
            {'rung': name, 'reason': 'skipped (--skip-rungs)'} for name in settings.skip_rungs]}
    start = time.perf_counter()
    last_block_s: dict[str, float] = {}
    for family in settings.families:
        for seed in settings.seeds:
            for task in settings.tasks:
                elapsed = time.perf_counter() - start
                # A family's first block has no duration yet: it starts unless the
                # limit is already spent.
                guess = last_block_s.get(family, 0.0)
                if time_limit_s is not None and elapsed + guess > time_limit_s:
                    reason = (f'time limit: {elapsed:.0f} s used, a {family} block takes '
                              f'{guess:.0f} s, limit {time_limit_s:.0f} s')
                    results['not_run'].append({'family': family, 'task': task,
                                               'seed': seed, 'reason': reason})
                    log(f'[{task}] {family} seed {seed}: not run ({reason})')
                    continue
                block_start = time.perf_counter()
                if task not in results['localizers'] and task in settings.netl_checkpoints:
                    results['localizers'][task] = {
                        'checkpoint': settings.netl_checkpoints[task], 'reused': True}
                if task not in results['localizers']:
                    log(f'[{task}] training the shared Net_L')
                    results['localizers'][task] = train_localizer(task, settings,
                                                                  root / task / 'netl')
                    log(f"[{task}] Net_L: {results['localizers'][task]['metrics']}")
                    block_start = time.perf_counter()
                netl = results['localizers'][task]['checkpoint']
                for r in family_rungs(family):
                    if r.name in settings.skip_rungs:
                        continue
                    run = train_rung(r.name, models[r.name], task, settings, seed,
                                     netl if r.guided else None,
                                     root / task / f'seed{seed}' / r.name.replace('+', '_'))
                    results['runs'].append(run)
                    log(run_summary(run))
                    if on_result:
                        on_result(results)
                last_block_s[family] = time.perf_counter() - block_start
    return results


def _time_one_rung(model_cfg: dict, images: torch.Tensor, gts: torch.Tensor,
                   masks: torch.Tensor, reps: int) -> dict:
    """Median seconds of a training step (Net_R forward, L1, backward, Adam; Net_L's
    forward without gradients, as in the restorer stage) and of an inference."""
    from spairkit.registry import MODELS

    from .timing import time_call

    model = MODELS.build(copy.deepcopy(model_cfg))
    netl = getattr(model, 'netl', None)
    optim = torch.optim.Adam(model.netr.parameters(), lr=1e-4)

    def restore():
        if netl is None:
            return model.netr(images, masks, None)
        with torch.no_grad():
            _, features = netl(images)
        return model.netr(images, masks, features)

    def step():
        optim.zero_grad()
        torch.nn.functional.l1_loss(restore(), gts).backward()
        optim.step()

    def infer():
        with torch.no_grad():
            return restore()

    return {'train_step_s': time_call(step, reps=reps).median_s,
            'infer_s': time_call(infer, reps=reps).median_s}


def step_times(settings: LadderSettings, size: int | None = None, reps: int = 5
               ) -> dict[str, dict]:
    """Per rung, :func:`_time_one_rung` on random weights and a 10% random mask, at the
    training crop and batch (or ``size``): the same tensors for every rung, run alone."""
    size = size or settings.crop_size
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(settings.batch_size, 3, size, size, generator=gen)
    gts = torch.rand(settings.batch_size, 3, size, size, generator=gen)
    masks = (torch.rand(settings.batch_size, 1, size, size, generator=gen) < 0.1).float()
    return {name: dict(_time_one_rung(entry['model'], images, gts, masks, reps), size=size,
                       batch=settings.batch_size)
            for name, entry in matched_models(settings).items()}


def summarise(results: dict) -> list[dict]:
    """Per task and rung: mean and seed spread (max - min) / std of every metric."""
    import numpy as np

    rows = []
    keys = list(dict.fromkeys((r['task'], r['rung']) for r in results['runs']))
    for task, name in keys:
        runs = [r for r in results['runs'] if (r['task'], r['rung']) == (task, name)]
        row = {'task': task, 'rung': name, 'family': runs[0]['family'],
               'seeds': [r['seed'] for r in runs], 'width': runs[0]['width'],
               'netr_params': runs[0]['netr_params'], 'netl_params': runs[0]['netl_params'],
               'infer_s': float(np.median([r['infer_s'] for r in runs])),
               'train_s': float(np.mean([r['train_s'] for r in runs]))}
        for key in METRIC_KEYS + tuple(f'input_{k}' for k in METRIC_KEYS) + (
                'mask/IoU',):
            values = [r['metrics'][key] for r in runs if key in r['metrics']]
            if values:
                row[key] = float(np.mean(values))
                row[f'{key}_std'] = float(np.std(values)) if len(values) > 1 else None
                row[f'{key}_spread'] = float(np.ptp(values)) if len(values) > 1 else None
        rows.append(row)
    return rows


def step_verdicts(rows: Sequence[dict], key: str = 'PSNR_degraded') -> list[dict]:
    """For each rung after the first of its family: its gain over the previous rung on
    ``key`` and a verdict: "helps" when the gain exceeds 2 x the larger of the two seed
    spreads (max - min over seeds), "hurts" when the loss does, else "within noise".
    With one seed there is no spread and no verdict (``None``)."""
    out = []
    for task in dict.fromkeys(r['task'] for r in rows):
        for family, rungs in FAMILIES.items():
            # By rung name: a rung of two families (NAF alone) is one row.
            members = {r.name for r in rungs}
            by_name = {r['rung']: r for r in rows if r['task'] == task and r['rung'] in members}
            names = [r.name for r in rungs if r.name in by_name]
            for prev, cur in zip(names, names[1:]):
                a, b = by_name[prev], by_name[cur]
                gain = b[key] - a[key]
                spreads = [s for s in (a.get(f'{key}_spread'), b.get(f'{key}_spread'))
                           if s is not None]
                noise = 2 * max(spreads) if len(spreads) == 2 else None
                verdict = None if noise is None else (
                    'helps' if gain > noise else 'hurts' if gain < -noise else 'within noise')
                out.append({'task': task, 'family': family, 'from': prev, 'to': cur,
                            'gain': gain, 'noise': noise, 'verdict': verdict})
    return out


def against_reference(rows: Sequence[dict], reference: str = 'NAF', degraded_margin: float = 0.5
                      ) -> list[dict]:
    """Every other rung against ``reference`` (NAF alone), task by task: the issue's
    target is >= ``degraded_margin`` dB on degraded pixels and >= 0 dB on clean ones."""
    out = []
    for task in dict.fromkeys(r['task'] for r in rows):
        ref = next((r for r in rows if r['task'] == task and r['rung'] == reference), None)
        if ref is None:
            continue
        for r in rows:
            if r['task'] != task or r is ref:
                continue
            d_deg = r['PSNR_degraded'] - ref['PSNR_degraded']
            d_clean = r['PSNR_clean'] - ref['PSNR_clean']
            out.append({'task': task, 'rung': r['rung'], 'degraded': d_deg, 'clean': d_clean,
                        'meets': bool(d_deg >= degraded_margin and d_clean >= 0)})
    return out

