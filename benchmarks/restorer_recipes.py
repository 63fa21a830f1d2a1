"""Restorer-stage recipes compared at the demo's budget: backbone, guidance and gate.

Trains one restorer-stage model (``configs/demo/demo_restorer.py`` with the model
swapped for a named recipe below) on a task's synthetic data, with a given frozen
Net_L checkpoint where the recipe uses one, and evaluates the demo's held-out
photographs: Y-PSNR/SSIM overall and on the degraded / clean pixels of the task's mask
rule, input and output, plus parameter counts (Net_L included where the recipe needs
it at inference) and wall time. Each run is merged into the JSON (``--out``) by
``(task, recipe, iters, crop, seed)``. Not part of CI (docs/benchmarks.md)::

    nohup python benchmarks/restorer_recipes.py --task rain_streak --recipe naf_spair \\
        --netl work/netl/iter_600.pth > /tmp/recipe.log 2>&1 &
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / 'results' / 'restorer_recipes.json'

_SC = dict(type='SparseConvBlock', growth=8, num_layers=6)
_SNL = dict(type='SparseNonLocal', qk_channels=None, num_steps=2)
_GATE = dict(type='MaskGatedBlend', dilation=1)
#: NAFNet-family Net_R at the demo's scale (3 levels, 24 channels, 2 bottleneck blocks).
_NAF_R = dict(type='NAFNetR', width=24, num_levels=3, enc_blocks=[1, 1, 2], dec_blocks=1)

#: recipe name -> (netr config, model overrides). ``None`` netr keeps the demo's DED.
RECIPES = {
    'ded': (None, {}),
    'ded_gate': (None, dict(output_gate=_GATE)),
    # NAFNet alone (no Net_L at all): the dense baseline; regions split by the task's rule.
    'naf_alone': (dict(type='NAFNet', width=32, num_levels=3, enc_blocks=[1, 1, 2],
                       dec_blocks=1), dict(with_netl=False)),
    'naf_sfm': (dict(_NAF_R, sfm=dict(type='SFM'), decoder_blocks=[]), {}),
    'naf_sfm_sc': (dict(_NAF_R, sfm=dict(type='SFM'), decoder_blocks=[_SC]), {}),
    'naf_spair': (dict(_NAF_R, sfm=dict(type='SFM'), decoder_blocks=[_SC, _SNL]), {}),
    'naf_spair_gate': (dict(_NAF_R, sfm=dict(type='SFM'), decoder_blocks=[_SC, _SNL]),
                       dict(output_gate=_GATE)),
    'naf_spair_gate0': (dict(_NAF_R, sfm=dict(type='SFM'), decoder_blocks=[_SC, _SNL]),
                        dict(output_gate=dict(type='MaskGatedBlend', dilation=0))),
    'naf_sfm_gate': (dict(_NAF_R, sfm=dict(type='SFM'), decoder_blocks=[]),
                     dict(output_gate=_GATE)),
}


def restorer_config(task: str, recipe: str, netl: str | None, work_dir: Path,
                    iters: int | None, crop: int | None, train_patch: int | None,
                    seed: int):
    from spairkit.config import load_config
    from spairkit.tasks import get_task

    task_obj = get_task(task)
    cfg = load_config('spairkit::demo/demo_restorer.py')
    for split in ('train_dataloader', 'test_dataloader'):
        cfg[split].dataset.degradation = dict(task_obj.synthesizer)
        cfg[split].dataset.task = task
    netr, overrides = RECIPES[recipe]
    if netr is not None:
        cfg.model.netr = netr
    cfg.model.netl_checkpoint = netl
    for key, value in overrides.items():
        cfg.model[key] = value
    if not cfg.model.get('with_netl', True):
        cfg.model.netl_checkpoint = None
    cfg.work_dir = str(work_dir)
    cfg.custom_hooks = []
    cfg.randomness = dict(seed=seed)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True, seed=seed)
    if crop is not None:
        cfg.train_dataloader.dataset.pipeline[0].size = crop
        cfg.crop_size = crop
    if train_patch is not None:
        cfg.train_dataloader.dataset.patch_size = train_patch
    if iters is not None:
        cfg.train_cfg.max_iters = iters
        cfg.param_scheduler[0].T_max = iters
        cfg.default_hooks.checkpoint.interval = iters
    return cfg


def _key(r: dict) -> tuple:
    return (r['task'], r['recipe'], r['iters'], r['crop'], r.get('train_patch'), r['seed'])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--task', required=True)
    p.add_argument('--recipe', choices=sorted(RECIPES), required=True)
    p.add_argument('--netl', default=None, help='localizer-stage checkpoint')
    p.add_argument('--iters', type=int, default=None, help='default: the demo config')
    p.add_argument('--crop', type=int, default=None, help="default: the demo's 48")
    p.add_argument('--train-patch', type=int, default=None, help="default: the demo's 64")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work-dir', type=Path, default=Path('/tmp/restorer_recipes'))
    p.add_argument('--out', type=Path, default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from spairkit.registry import RUNNERS

    if RECIPES[args.recipe][1].get('with_netl', True) and args.netl is None:
        print(f'error: recipe {args.recipe!r} needs --netl', file=sys.stderr)
        return 2
    cfg = restorer_config(args.task, args.recipe, args.netl,
                          args.work_dir / f'{args.task}_{args.recipe}_{args.seed}',
                          args.iters, args.crop, args.train_patch, args.seed)
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    train_s = time.perf_counter() - start
    metrics = {k: round(float(v), 4) for k, v in runner.test().items()}
    model = runner.model
    params = {name: sum(q.numel() for q in getattr(model, name).parameters())
              for name in ('netl', 'netr') if getattr(model, name, None) is not None}
    record = {'task': args.task, 'recipe': args.recipe, 'netr': RECIPES[args.recipe][0],
              'overrides': RECIPES[args.recipe][1], 'netl': args.netl,
              'iters': int(cfg.train_cfg.max_iters), 'crop': int(cfg.crop_size),
              'train_patch': int(cfg.train_dataloader.dataset.patch_size),
              'batch': int(cfg.train_dataloader.batch_size), 'seed': args.seed,
              'train_s': round(train_s, 1), 'threads': args.threads, 'params': params,
              'params_total': sum(params.values()),
              'heldout': {'num': int(cfg.test_dataloader.dataset.num_samples),
                          'size': int(cfg.test_dataloader.dataset.patch_size)},
              'metrics': metrics}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(args.out.read_text()) if args.out.exists() else {'runs': []}
    data['runs'] = [r for r in data['runs'] if _key(r) != _key(record)] + [record]
    tmp = args.out.with_suffix('.tmp')
    tmp.write_text(json.dumps(data, indent=1) + '\n')
    os.replace(tmp, args.out)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
