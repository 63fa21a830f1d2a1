"""The SPAIR model: stages, frozen Net_L, checkpoint loading, predict contract, preprocessor."""
from __future__ import annotations

import pytest
import torch

from spairkit.errors import CheckpointError, ConfigError, DataError
from spairkit.registry import MODELS

from .helpers import TINY_NETL, TINY_NETR, make_batch, synthetic_pairs


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='SPAIR', netl=TINY_NETL, netr=TINY_NETR)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def save_localizer(path, seed=3):
    torch.manual_seed(seed)
    loc = MODELS.build(dict(type='SPAIR', stage='localizer', netl=TINY_NETL))
    torch.save({'meta': {'iter': 1}, 'state_dict': loc.state_dict()}, path)
    return loc


def test_localizer_stage_builds_only_netl():
    model = build(stage='localizer')
    assert model.netr is None
    assert all(p.requires_grad for p in model.parameters())


def test_restorer_freezes_netl_and_keeps_it_in_eval_mode():
    model = build(use_gt_mask=True)
    model.train()
    assert not model.netl.training and model.netr.training
    assert not any(p.requires_grad for p in model.netl.parameters())
    assert all(p.requires_grad for p in model.netr.parameters())


def test_restorer_loads_netl_from_localizer_checkpoint(tmp_path):
    ckpt = tmp_path / 'loc.pth'
    loc = save_localizer(ckpt)
    model = build(netl_checkpoint=str(ckpt))
    model.init_weights()
    for key, value in loc.netl.state_dict().items():
        assert torch.equal(model.netl.state_dict()[key], value), key


def test_restorer_accepts_pretrained_init_cfg(tmp_path):
    ckpt = tmp_path / 'loc.pth'
    loc = save_localizer(ckpt)
    model = build(init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='netl.'))
    model.init_weights()
    assert torch.equal(model.netl.head.weight, loc.netl.head.weight)


def test_missing_or_wrong_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match='nope.pth'):
        build(netl_checkpoint=str(tmp_path / 'nope.pth')).init_weights()
    other = tmp_path / 'restorer_only.pth'
    torch.save({'state_dict': {'netr.head.weight': torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="no 'netl.\\*' weights"):
        build(netl_checkpoint=str(other)).init_weights()
    wide = tmp_path / 'wide.pth'
    loc = MODELS.build(dict(type='SPAIR', stage='localizer',
                            netl=dict(TINY_NETL, base_channels=6)))
    torch.save({'state_dict': loc.state_dict()}, wide)
    with pytest.raises(CheckpointError, match='does not fit'):
        build(netl_checkpoint=str(wide)).init_weights()


def test_restorer_without_netl_source_refuses_to_train():
    with pytest.raises(ConfigError, match='netl_checkpoint'):
        build().init_weights()


def test_bad_stage_and_level_mismatch_are_config_errors():
    with pytest.raises(ConfigError, match='stage'):
        build(stage='restore')
    with pytest.raises(ConfigError, match='num_levels'):
        build(netr=dict(TINY_NETR, num_levels=3))


def test_predict_contract_on_odd_size():
    deg, clean, mask = synthetic_pairs(2, size=16)
    deg, clean, mask = deg[:, :, :13, :11], clean[:, :, :13, :11], mask[:, :, :13, :11]
    model = build(use_gt_mask=True)
    model.eval()
    data = model.data_preprocessor(make_batch(deg, clean, mask))
    preds = model(**data, mode='predict')
    assert len(preds) == 2
    p = preds[0]
    assert set(p) == {'pred', 'pred_mask', 'input', 'gt', 'mask', 'metainfo'}
    assert p['pred'].shape == (3, 13, 11) and p['pred_mask'].shape == (1, 13, 11)
    assert p['pred'].min() >= 0 and p['pred'].max() <= 1
    assert 0 <= p['pred_mask'].min() and p['pred_mask'].max() <= 1
    assert p['metainfo']['img_path'] == 'img0.png'
    assert all(t.device.type == 'cpu' and t.dtype == torch.float32
               for k, t in p.items() if k != 'metainfo')


def test_localizer_loss_logs_iou_f1_and_derives_missing_masks():
    deg, clean, _ = synthetic_pairs(2, size=16)
    model = build(stage='localizer', mask_rule=dict(threshold=0.3, on='max'))
    data = model.data_preprocessor(make_batch(deg, clean))  # no masks given
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_bce', 'mask_iou', 'mask_f1'}
    assert losses['loss_bce'].requires_grad
    derived = model._gt_masks(data['inputs'], data['data_samples'])
    _, _, mask = synthetic_pairs(2, size=16)
    assert torch.equal(derived, mask)  # the streaks (+0.6) are exactly the pixels > 0.3


def test_restorer_mask_comes_from_netl_at_the_threshold():
    model = build()
    model.eval()
    with torch.no_grad():
        model.netl.head.bias.fill_(-50.0)  # Net_L: nothing degraded
    x = torch.rand(1, 3, 8, 8)
    seen = {}
    model.netr.register_forward_pre_hook(lambda m, args: seen.update(mask=args[1]))
    model(x, mode='tensor')
    assert seen['mask'].sum() == 0
    with torch.no_grad():
        model.netl.head.bias.fill_(50.0)
    model(x, mode='tensor')
    assert seen['mask'].min() == 1


# --------------------------------------------------------------- data preprocessor
def test_preprocessor_scales_and_stacks():
    pre = MODELS.build(dict(type='RestorationDataPreprocessor'))
    img8 = torch.full((3, 4, 5), 255, dtype=torch.uint8)
    img16 = torch.full((3, 4, 5), 65535 // 5, dtype=torch.int32)
    batch = {'inputs': [img8, img16],
             'data_samples': [{'gt': img8, 'mask': torch.ones(1, 4, 5),
                               'metainfo': {'max_value': 255}},
                              {'gt': img16, 'metainfo': {'max_value': 65535}}]}
    out = pre(batch)
    assert out['inputs'].shape == (2, 3, 4, 5) and out['inputs'].dtype == torch.float32
    assert out['inputs'][0].max() == 1.0
    assert out['inputs'][1].max().item() == pytest.approx(0.2, abs=1e-6)
    assert out['data_samples'][0]['mask'].dtype == torch.float32
    assert 'mask' not in out['data_samples'][1]


def test_preprocessor_names_files_of_mismatched_sizes():
    pre = MODELS.build(dict(type='RestorationDataPreprocessor'))
    a = torch.zeros(3, 4, 4, dtype=torch.uint8)
    b = torch.zeros(3, 4, 6, dtype=torch.uint8)
    batch = {'inputs': [a, b], 'data_samples': [
        {'gt': a, 'metainfo': {'img_path': 'a.png'}},
        {'gt': b, 'metainfo': {'img_path': 'b.png'}}]}
    with pytest.raises(DataError, match='a.png.*b.png'):
        pre(batch)
    with pytest.raises(DataError, match='gt shape'):
        pre({'inputs': [a], 'data_samples': [{'gt': b, 'metainfo': {}}]})


def test_netl_checkpoint_may_be_the_localizer_work_dir(tmp_path):
    loc = save_localizer(tmp_path / 'iter_7.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_7.pth'))
    model = build(netl_checkpoint=str(tmp_path))
    model.init_weights()
    assert torch.equal(model.netl.head.weight, loc.netl.head.weight)
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(CheckpointError, match='last_checkpoint'):
        build(netl_checkpoint=str(empty)).init_weights()


def test_missing_masks_follow_the_samples_task_rule():
    """Without model.mask_rule, a sample without a mask gets its task's rule: rain
    streaks count luma changes above 6%, so a red-only shift is clean there."""
    model = build(stage='localizer')
    gt = torch.full((3, 4, 4), 0.4)
    inp = gt.clone()
    inp[0, :, :2] += 0.16            # red +16%: 4.8% luma
    inp[:, :, 3] += 0.10             # grey +10%
    samples = [{'gt': gt, 'metainfo': {'task': 'rain_streak'}},
               {'gt': gt, 'metainfo': {'task': 'raindrop'}}]   # max channel at 8%
    masks = model._gt_masks(torch.stack([inp, inp]), samples)
    assert masks[0, 0].sum(dim=0).tolist() == [0, 0, 0, 4]
    assert masks[1, 0].sum(dim=0).tolist() == [4, 4, 0, 4]
    with pytest.raises(DataError, match='names no task'):
        model._gt_masks(inp[None], [{'gt': gt, 'metainfo': {'task': ''}}])
    with pytest.raises(ConfigError, match='mask_rule'):
        build(stage='localizer', mask_rule=dict(threshold=0.1, on='max'), mask_threshold=0.1)
