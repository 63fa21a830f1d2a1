"""The synthesiser contract and the task-agnostic helpers of spairkit.degradations."""
from __future__ import annotations

import numpy as np
import pytest

from spairkit.degradations import (
    Degradation,
    RandomChoiceDegradation,
    SequentialDegradation,
    build_degradation,
    difference_map,
    from_float,
    line_kernel,
    mask_from_difference,
    smooth_field,
    to_float,
)
from spairkit.errors import ConfigError, DataError, UnknownComponentError
from spairkit.registry import DEGRADATIONS

from .conftest import structured_image


class _Brighten(Degradation):
    """Brightens the left half by a fixed amount: its changes are known exactly."""

    def __init__(self, amount=0.2, **kwargs):
        super().__init__(**kwargs)
        self.amount = amount

    def apply(self, image, rng):
        out = image.copy()
        out[:, : image.shape[1] // 2] += self.amount
        return out, None


def test_mask_from_difference_max_and_y():
    clean = np.zeros((2, 2, 3), np.uint8)
    degraded = clean.copy()
    degraded[0, 0] = (30, 0, 0)   # 11.8% on red, 3.5% in luma
    degraded[1, 1] = (10, 10, 10)  # 3.9% everywhere
    assert mask_from_difference(degraded, clean, 0.1, 'max').tolist() == [[1, 0], [0, 0]]
    assert mask_from_difference(degraded, clean, 0.03, 'y').tolist() == [[1, 0], [0, 1]]
    assert mask_from_difference(degraded, clean, 0.05, 'y').tolist() == [[0, 0], [0, 0]]
    # No uint8 wrap-around: a darker pixel counts as much as a brighter one.
    assert mask_from_difference(clean, degraded, 0.1, 'max')[0, 0] == 1


def test_uint16_is_normalised_by_its_range():
    clean = np.zeros((1, 2, 3), np.uint16)
    degraded = clean.copy()
    degraded[0, 0] = 65535 // 5
    assert mask_from_difference(degraded, clean, 0.1).tolist() == [[1, 0]]
    assert difference_map(degraded, clean).max() == pytest.approx(0.2, abs=1e-4)


def test_float_round_trip_and_clipping():
    img = structured_image(5, 7)
    assert np.array_equal(from_float(to_float(img), np.uint8), img)
    assert from_float(np.array([-0.5, 0.5, 1.5], np.float32), np.uint8).tolist() == [0, 128, 255]


def test_bad_inputs_are_named():
    deg = _Brighten()
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match='HxWx3'):
        deg(np.zeros((4, 4), np.uint8), rng)
    with pytest.raises(DataError, match='float32'):
        deg(np.zeros((4, 4, 3), np.float32), rng)
    with pytest.raises(TypeError, match='Generator'):
        deg(np.zeros((4, 4, 3), np.uint8), 0)
    with pytest.raises(ConfigError, match='mask_threshold'):
        _Brighten(mask_threshold=2)
    with pytest.raises(ConfigError, match='mask_on'):
        _Brighten(mask_on='lab')


def test_base_call_quantises_and_masks_exactly_the_change():
    clean = np.full((6, 8, 3), 100, np.uint8)
    degraded, mask = _Brighten(amount=0.2, mask_threshold=0.1)(clean, np.random.default_rng(0))
    assert degraded.dtype == np.uint8 and degraded.shape == clean.shape
    assert (degraded[:, :4] == 151).all() and (degraded[:, 4:] == 100).all()
    assert mask[:, :4].all() and not mask[:, 4:].any()
    assert clean.max() == 100  # the input is not modified


def test_line_kernel_is_normalised_and_oriented():
    horizontal = line_kernel(9, 0.0)
    vertical = line_kernel(9, 90.0)
    assert horizontal.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(horizontal, vertical.T, atol=1e-6)
    assert horizontal[4].sum() > 0.9  # all the weight on the middle row
    assert line_kernel(1, 30.0).shape == (1, 1)


def test_smooth_field_is_deterministic_and_normalised():
    a = smooth_field((17, 23), np.random.default_rng(3), cells=3)
    b = smooth_field((17, 23), np.random.default_rng(3), cells=3)
    assert a.shape == (17, 23) and np.array_equal(a, b)
    assert a.min() == 0.0 and a.max() == pytest.approx(1.0)


@pytest.fixture
def registered_brighten():
    name = '_TestBrighten'
    DEGRADATIONS.register_module(name=name, module=_Brighten, force=True)
    yield name
    DEGRADATIONS.module_dict.pop(name, None)


def test_build_degradation_from_config(registered_brighten):
    deg = build_degradation(dict(type=registered_brighten, amount=0.3))
    assert isinstance(deg, _Brighten) and deg.amount == 0.3
    assert build_degradation(deg) is deg
    with pytest.raises(UnknownComponentError, match="DEGRADATIONS.*'_TestBrighten'"):
        build_degradation(dict(type='_TestBrightenn'))
    with pytest.raises(ConfigError, match="'type'"):
        build_degradation(dict(amount=1))


def test_random_choice_picks_per_call_and_is_seeded(registered_brighten):
    choice = RandomChoiceDegradation(
        [dict(type=registered_brighten, amount=0.1), dict(type=registered_brighten, amount=0.3)])
    clean = np.full((4, 4, 3), 50, np.uint8)
    outs = [choice(clean, np.random.default_rng(s))[0][0, 0, 0] for s in range(20)]
    assert set(outs) == {76, 126}
    again = [choice(clean, np.random.default_rng(s))[0][0, 0, 0] for s in range(20)]
    assert outs == again
    only_second = RandomChoiceDegradation(
        [dict(type=registered_brighten, amount=0.1), dict(type=registered_brighten, amount=0.3)],
        probs=[0, 1])
    assert only_second(clean, np.random.default_rng(0))[0][0, 0, 0] == 126
    with pytest.raises(ConfigError, match='probs'):
        RandomChoiceDegradation([dict(type=registered_brighten)], probs=[1, 1])
    with pytest.raises(ConfigError, match='degradations'):
        RandomChoiceDegradation([])


def test_sequential_masks_accumulated_small_changes(registered_brighten):
    # Each step changes by 6% (below its 10% threshold); together they change 12%.
    step = dict(type=registered_brighten, amount=0.06, mask_threshold=0.1)
    seq = SequentialDegradation([step, step])
    clean = np.full((4, 6, 3), 40, np.uint8)
    degraded, mask = seq(clean, np.random.default_rng(0))
    assert (degraded[:, :3] == 70).all()  # 40 + 15 + 15 after two roundings
    assert mask[:, :3].all() and not mask[:, 3:].any()
