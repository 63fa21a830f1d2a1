"""Every registered component of every domain registry builds and runs a tiny case.

timm-style: a recipe per component (its default or declared config and a tiny input),
one parametrised test over all of them, and a completeness test that fails when a
component is registered without a recipe. Covers TASKS, DEGRADATIONS, DATASETS,
TRANSFORMS, METRICS, PROTOCOLS and LOSSES, the built-in plugins and the example
third-party plugin (examples/custom_task_plugin, imported from its source folder for
the duration of this module). MODELS has its own such test (tests/models).
"""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from spairkit import registry as reg
from spairkit.config import resolve_config_path
from spairkit.datasets.transforms import DeriveMask
from spairkit.evaluation import get_protocol
from spairkit.mask_rule import task_mask_rule
from spairkit.tasks import get_task
from tests.conftest import REPO

EXAMPLE = REPO / 'examples' / 'custom_task_plugin'
EXAMPLE_PACKAGE = 'spairkit_haze'
REGISTRIES = {'tasks': reg.TASKS, 'degradations': reg.DEGRADATIONS, 'datasets': reg.DATASETS,
              'transforms': reg.TRANSFORMS, 'metrics': reg.METRICS,
              'protocols': reg.PROTOCOLS}
if getattr(reg, 'LOSSES', None) is not None:
    REGISTRIES['losses'] = reg.LOSSES


@pytest.fixture(scope='module', autouse=True)
def example_plugin():
    """Register the example plugin's components (as its entry point would), then remove."""
    sys.path.insert(0, str(EXAMPLE))
    import spairkit_haze  # noqa: F401 - importing registers HazeTask, HazeSynthesizer, ...
    yield
    for registry in REGISTRIES.values():
        for name, obj in list(registry.module_dict.items()):
            if getattr(obj, '__module__', '').startswith(EXAMPLE_PACKAGE):
                registry.module_dict.pop(name)
    for module in [m for m in sys.modules if m.split('.')[0] == EXAMPLE_PACKAGE]:
        del sys.modules[module]
    sys.path.remove(str(EXAMPLE))


def textured(h: int = 32, w: int = 36, seed: int = 0) -> np.ndarray:
    """A smooth colour image with some texture (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 5, y * 6, (x + y) * 3], axis=2) % 200 + 20
    return np.clip(base + rng.integers(-10, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), data)


def pair(root: Path, degraded: str, clean: str, mask: str | None = None) -> None:
    clean_img = textured()
    write(root / clean, clean_img)
    degraded_img = clean_img.copy()
    degraded_img[8:16, 10:20] = 250
    write(root / degraded, degraded_img)
    if mask is not None:
        m = np.zeros(clean_img.shape[:2], np.uint8)
        m[8:16, 10:20] = 255
        write(root / mask, m)


# -- TASKS -------------------------------------------------------------------------------
def run_task(name: str, tmp_path: Path) -> None:
    task = get_task(name)
    clean = textured(64, 72)
    degraded, mask = task.build_synthesizer()(clean, np.random.default_rng(0))
    assert degraded.shape == clean.shape and degraded.dtype == np.uint8
    assert (degraded != clean).any() and set(np.unique(mask)) <= {0, 1}
    # The synthesiser's mask covers the task's rule (plus any physical footprint).
    rule = task_mask_rule(name)
    assert (mask >= rule(degraded, clean)).all()
    derived = DeriveMask()({'img': degraded, 'gt': clean, 'task': name})['mask']
    np.testing.assert_array_equal(derived, rule(degraded, clean).astype(np.uint8))
    protocol = get_protocol(task.protocol())
    scores = protocol.evaluate(degraded, clean, mask)
    assert scores and all(not math.isnan(v) for v in scores.values())
    for layout in task.datasets:
        assert task.dataset_type(layout) in reg.DATASETS.module_dict
    if task.config_package and importable(task.config_package):
        for role, path in task.configs.items():
            assert resolve_config_path(path).is_file(), (role, path)


def importable(package: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(package) is not None
    except ModuleNotFoundError:
        return False


# -- DEGRADATIONS ------------------------------------------------------------------------
def run_degradation(cfg: dict) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        from spairkit.degradations import build_degradation

        synth = build_degradation(cfg)
        clean = textured(24, 28)
        a = synth(clean, np.random.default_rng(3))
        b = synth(clean, np.random.default_rng(3))
        assert a[0].shape == clean.shape and a[1].shape == clean.shape[:2]
        assert (a[0] == b[0]).all() and (a[1] == b[1]).all()  # seeded
    return run


# -- DATASETS ----------------------------------------------------------------------------
PIPELINE = [dict(type='LoadPairFromFile'), dict(type='DeriveMask'),
            dict(type='PackRestorationInputs')]


def run_dataset(layout: Callable[[Path], dict]) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        cfg = layout(tmp_path)
        cfg.setdefault('pipeline', [dict(t) for t in PIPELINE])
        dataset = reg.DATASETS.build(cfg)
        assert len(dataset) >= 1
        sample = dataset[0]
        assert sample['inputs'].dtype == torch.uint8 and sample['inputs'].shape[0] == 3
        data = sample['data_samples']
        assert data['gt'].shape == sample['inputs'].shape
        assert data['mask'].shape == (1, *sample['inputs'].shape[1:])
        if dataset.task:
            get_task(dataset.task)  # the dataset's task is registered
    return run


def rain13k(root):
    pair(root, 'input/1.png', 'target/1.png')
    return dict(type='Rain13KDataset', data_root=str(root))


def rain100(root):
    pair(root, 'rain-1.png', 'norain-1.png')
    return dict(type='Rain100Dataset', data_root=str(root))


def spa(root):
    pair(root, 'rain/1.png', 'gt/1.png')
    (root / 'real_world.txt').write_text('/rain/1.png /gt/1.png\n')
    return dict(type='SPADataset', data_root=str(root))


def agan(root):
    pair(root, 'data/1_rain.png', 'gt/1_clean.png')
    return dict(type='AGANDataset', data_root=str(root))


def istd(root):
    pair(root, 'test_A/1.png', 'test_C/1.png', mask='test_B/1.png')
    return dict(type='ISTDDataset', data_root=str(root), split='test')


def gopro(root):
    pair(root, 'test/SEQ/blur/1.png', 'test/SEQ/sharp/1.png')
    return dict(type='GoProDataset', data_root=str(root), split='test')


def folder(kind):
    def layout(root):
        pair(root, 'input/1.png', 'target/1.png')
        return dict(type=kind, data_root=str(root))
    return layout


def pair_list(root):
    pair(root, 'i/1.png', 't/1.png')
    (root / 'list.txt').write_text('i/1.png t/1.png\n')
    return dict(type='PairListDataset', ann_file='list.txt', data_root=str(root),
                task='rain_streak')


def synthesized(root):
    return dict(type='SynthesizedPairDataset', degradation=dict(type='ShadowSynthesizer'),
                task='shadow', num_samples=1, patch_size=24,
                pipeline=[dict(type='PackRestorationInputs')])


# -- TRANSFORMS --------------------------------------------------------------------------
def results(tmp_path: Path | None = None) -> dict:
    clean = textured(12, 10)
    degraded = clean.copy()
    degraded[2:5, 3:7] = 255
    return {'img': degraded, 'gt': clean, 'mask': None, 'task': 'raindrop',
            'img_path': 'x.png', 'gt_path': 'y.png'}


def run_transform(cfg: dict, check: Callable[[dict], None],
                  make: Callable[[Path], dict] = lambda p: results()) -> Callable:
    def run(tmp_path: Path) -> None:
        out = reg.TRANSFORMS.build(dict(cfg))(make(tmp_path))
        check(out)
    return run


def on_disk(tmp_path: Path) -> dict:
    pair(tmp_path, 'a.png', 'b.png')
    return {'img_path': str(tmp_path / 'a.png'), 'gt_path': str(tmp_path / 'b.png')}


def same_size(out):
    assert out['img'].shape == out['gt'].shape


# -- METRICS -----------------------------------------------------------------------------
def predict_dict(task: str = 'rain_streak') -> dict:
    def t(img):
        return torch.from_numpy(img).permute(2, 0, 1).float() / 255
    clean = textured()
    degraded = clean.copy()
    degraded[8:16, 10:20] = 250
    restored = np.clip(clean.astype(int) + 3, 0, 255).astype(np.uint8)
    mask = np.zeros(clean.shape[:2], np.float32)
    mask[8:16, 10:20] = 1
    return {'pred': t(restored), 'gt': t(clean), 'input': t(degraded),
            'mask': torch.from_numpy(mask)[None], 'pred_mask': torch.from_numpy(mask)[None],
            'metainfo': {'img_path': 'a.png', 'task': task, 'max_value': 255}}


def run_metric(cfg: dict, task: str = 'rain_streak') -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        metric = reg.METRICS.build(dict(cfg))
        metric.process({}, [predict_dict(task)])
        scores = metric.evaluate(1)
        assert scores and all(isinstance(v, float) and not math.isnan(v)
                              for v in scores.values()), scores
    return run


# -- PROTOCOLS ---------------------------------------------------------------------------
def run_protocol(name: str) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        protocol = reg.PROTOCOLS.build(dict(type=name))
        assert protocol is get_protocol(name) and protocol.name == name
        clean = textured(48, 52)
        restored = np.clip(clean.astype(int) + np.random.default_rng(1).integers(-4, 5,
                           clean.shape), 0, 255).astype(np.uint8)
        mask = np.zeros(clean.shape[:2], bool)
        mask[10:30, 10:30] = True
        scores = protocol.evaluate(restored, clean, mask)
        assert scores and all(not math.isnan(v) for v in scores.values()), scores
        if protocol.supports_regions:
            assert set(protocol.evaluate_regions(restored, clean, mask)) >= {
                'PSNR_degraded', 'PSNR_clean'}
    return run


# -- LOSSES ------------------------------------------------------------------------------
def run_loss(cfg: dict, kind: str) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        loss = reg.LOSSES.build(dict(cfg))
        torch.manual_seed(0)
        target_mask = (torch.rand(2, 1, 6, 7) > 0.7).float()
        if kind == 'pixel':
            pred = torch.rand(2, 3, 6, 7, requires_grad=True)
            value = loss(pred, torch.rand(2, 3, 6, 7),
                         target_mask if loss.requires_mask else None)
        else:
            pred = torch.randn(2, 1, 6, 7, requires_grad=True)
            value = loss(pred, target_mask)
        assert value.dim() == 0 and torch.isfinite(value)
        value.backward()
        assert pred.grad is not None and torch.isfinite(pred.grad).all()
        assert 'loss' in loss.loss_name
    return run


RECIPES: dict[str, dict[str, Callable[[Path], None]]] = {
    'tasks': {name: (lambda n: lambda p: run_task(n, p))(name)
              for name in ('rain_streak', 'raindrop', 'shadow', 'motion_blur', 'joint',
                           'haze')},
    'degradations': {
        'RainStreakSynthesizer': run_degradation(dict(type='RainStreakSynthesizer')),
        'RaindropSynthesizer': run_degradation(dict(type='RaindropSynthesizer')),
        'ShadowSynthesizer': run_degradation(dict(type='ShadowSynthesizer')),
        'MotionBlurSynthesizer': run_degradation(dict(type='MotionBlurSynthesizer')),
        'HazeSynthesizer': run_degradation(dict(type='HazeSynthesizer')),
        'SequentialDegradation': run_degradation(dict(
            type='SequentialDegradation', degradations=[dict(type='RainStreakSynthesizer'),
                                                        dict(type='RaindropSynthesizer')])),
        'RandomChoiceDegradation': run_degradation(dict(
            type='RandomChoiceDegradation', degradations=[dict(type='ShadowSynthesizer'),
                                                          dict(type='HazeSynthesizer')])),
    },
    'datasets': {
        'Rain13KDataset': run_dataset(rain13k), 'Rain100Dataset': run_dataset(rain100),
        'SPADataset': run_dataset(spa), 'AGANDataset': run_dataset(agan),
        'ISTDDataset': run_dataset(istd), 'GoProDataset': run_dataset(gopro),
        'HIDEDataset': run_dataset(folder('HIDEDataset')),
        'RealBlurDataset': run_dataset(folder('RealBlurDataset')),
        'PairedFolderDataset': run_dataset(lambda r: dict(folder('PairedFolderDataset')(r),
                                                          task='haze')),
        'PairListDataset': run_dataset(pair_list),
        'SynthesizedPairDataset': run_dataset(synthesized),
    },
    'transforms': {
        'LoadPairFromFile': run_transform(dict(type='LoadPairFromFile'), same_size, on_disk),
        'DeriveMask': run_transform(dict(type='DeriveMask'),
                                    lambda o: o['mask'][2:5, 3:7].all() and
                                    o['mask'].sum() == 12 or pytest.fail(str(o['mask']))),
        'PairedRandomCrop': run_transform(dict(type='PairedRandomCrop', size=5),
                                          lambda o: o['img'].shape[:2] == (5, 5) and
                                          o['gt'].shape[:2] == (5, 5) or pytest.fail('crop')),
        'PairedFlip': run_transform(dict(type='PairedFlip'), same_size),
        'PairedRandomRotate90': run_transform(dict(type='PairedRandomRotate90'), same_size),
        'PackRestorationInputs': run_transform(
            dict(type='PackRestorationInputs'),
            lambda o: o['inputs'].shape == (3, 12, 10) and
            o['data_samples']['metainfo']['task'] == 'raindrop' or pytest.fail('pack')),
    },
    'metrics': {
        'RestorationMetric': run_metric(dict(type='RestorationMetric', protocol='rain13k_y',
                                             region_aware=True)),
        'MaskMetric': run_metric(dict(type='MaskMetric')),
        'HazeMetric': run_metric(dict(type='HazeMetric'), task='haze'),
    },
    'protocols': {name: run_protocol(name) for name in (
        'rain13k_y', 'agan_y_crop4', 'istd_lab', 'gopro_rgb', 'realblur_aligned', 'haze_rgb')},
    'losses': {
        'L1Loss': run_loss(dict(type='L1Loss'), 'pixel'),
        'CharbonnierLoss': run_loss(dict(type='CharbonnierLoss'), 'pixel'),
        'MSELoss': run_loss(dict(type='MSELoss'), 'pixel'),
        'RegionWeightedPixelLoss': run_loss(dict(type='RegionWeightedPixelLoss',
                                                 degraded_weight=2.0), 'pixel'),
        'SumOfLosses': run_loss(dict(type='SumOfLosses', losses=[dict(type='L1Loss'),
                                                                dict(type='MSELoss')]), 'pixel'),
        'BCELoss': run_loss(dict(type='BCELoss'), 'mask'),
        'DiceLoss': run_loss(dict(type='DiceLoss'), 'mask'),
        'FocalLoss': run_loss(dict(type='FocalLoss'), 'mask'),
    },
}
CASES = [(registry, name) for registry in REGISTRIES for name in RECIPES.get(registry, {})]


def spairkit_names(registry) -> set[str]:
    """Names registered by spairkit, its built-in plugins and the example plugin."""
    registry.import_from_location()
    return {name for name, obj in registry.module_dict.items()
            if getattr(obj, '__module__', '').split('.')[0] in ('spairkit', EXAMPLE_PACKAGE)}


@pytest.mark.parametrize('registry', sorted(REGISTRIES))
def test_every_registered_component_has_a_recipe(registry):
    assert spairkit_names(REGISTRIES[registry]) == set(RECIPES.get(registry, {}))


@pytest.mark.parametrize('registry, name', CASES, ids=[f'{r}/{n}' for r, n in CASES])
def test_component_builds_and_runs_a_tiny_case(registry, name, tmp_path):
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    RECIPES[registry][name](tmp_path)
