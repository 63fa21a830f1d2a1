"""Built-in task plugin: joint rain removal, one model for rain streaks and raindrops.

Real rainy photographs taken through a window hold both: streaks in the air and
drops on the glass. This task trains one SPAIR model for the two together. It adds
no component of its own: its synthesiser is the core's task-agnostic
``SequentialDegradation`` applying the ``rain_streak`` plugin's
``RainStreakSynthesizer`` and then the ``raindrop`` plugin's ``RaindropSynthesizer``
(drops on the glass refract the rainy scene behind them), each with its calibrated
defaults. Found through the ``spairkit.plugins`` entry point ``joint``, exactly as a
third-party plugin is; it imports its two sibling plugins' synthesisers directly,
as a third party depending on them would, since entry points load in name order
and ``joint`` comes first.
"""
from spairkit.degradations import SequentialDegradation
from spairkit.plugins.rain_streak.synthesis import RainStreakSynthesizer
from spairkit.plugins.raindrop.synthesis import RaindropSynthesizer
from spairkit.registry import TASKS
from spairkit.tasks import Task


def _composed_mask_rule() -> tuple[float, str]:
    """``(threshold, on)`` that ``SequentialDegradation`` marks the final image with.

    Read from the composition itself (spairkit/degradations/compose.py: the rule of
    its step with the smallest threshold, here the streaks' 0.06 on Y), not restated,
    so the task's rule (DeriveMask, region metrics, SPAIR's fallback) is exactly the
    synthesiser's.
    """
    composed = SequentialDegradation([RainStreakSynthesizer(), RaindropSynthesizer()])
    return composed.mask_threshold, composed.mask_on


@TASKS.register_module(name='joint')
class JointRainTask(Task):
    name = 'joint'
    description = 'rain streaks + raindrops with one model (synthetic: streaks, then drops)'
    # No standard joint benchmark: real or `spairkit synth joint` pairs in input/ + target/.
    datasets = {'folder': 'PairedFolderDataset'}
    default_layout = 'folder'
    # The synthesised mask is the union of each step's mask (streaks: > 0.06 on Y;
    # drops: > 0.08 max + footprint) and of the final change under this rule.
    mask_threshold, mask_on = _composed_mask_rule()
    synthesizer = {'type': 'SequentialDegradation',
                   'degradations': ({'type': 'RainStreakSynthesizer'},
                                    {'type': 'RaindropSynthesizer'})}
    # Both deraining benchmarks score Y; the rain-streak protocol (MATLAB Y, no crop).
    protocols = {'folder': 'rain13k_y'}
    configs = {'netl_synthetic': 'spairkit::joint/netl_synthetic.py',
               'spair_synthetic': 'spairkit::joint/spair_synthetic.py'}
    # Installed with the plugin; resolves spairkit::joint/<file>.
    config_package = __name__ + '.configs'
    batch_size = 8
