"""``RunnerConfig``: the runner's config text is formatted once per content."""
from __future__ import annotations

import copy
from unittest import mock

from mmengine.config import Config
from yapf.yapflib.yapf_api import FormatCode

from spairkit.engine.runner import RunnerConfig


def _config() -> Config:
    return Config(dict(model=dict(type='SPAIR', netr=dict(width=16)), train_cfg=dict(max_iters=5)))


def test_text_equals_mmengine_and_is_formatted_once_per_content():
    plain = _config()
    cfg = RunnerConfig.of(plain)
    assert isinstance(cfg, Config) and cfg.model.netr.width == 16
    with mock.patch('mmengine.config.config.FormatCode', wraps=FormatCode) as fmt:
        first = cfg.pretty_text
        assert cfg.pretty_text == first and fmt.call_count == 1
        assert first == plain.pretty_text
        cfg.model.netr.width = 32  # an edit after the runner was built is written as it is
        assert 'width=32' in cfg.pretty_text and fmt.call_count == 3  # plain's call + this


def test_copies_keep_the_class_and_the_source_is_untouched():
    plain = _config()
    cfg = RunnerConfig.of(plain)
    text = cfg.pretty_text
    deep = copy.deepcopy(cfg)
    assert type(deep) is RunnerConfig and deep.pretty_text == text
    deep.train_cfg.max_iters = 7
    assert 'max_iters=7' in deep.pretty_text and 'max_iters=5' in cfg.pretty_text
    assert type(plain) is Config and '_pretty_text_cache' not in plain.__dict__
