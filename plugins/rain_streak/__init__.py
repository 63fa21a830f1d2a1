"""Built-in task plugin: rain-streak removal (paper Sec. 4, Tables 1-2).

Registers the task, its dataset layouts (:mod:`.datasets`) and its synthesiser
(:mod:`.synthesis`). Found through the ``spairkit.plugins`` entry point
``rain_streak``, exactly as a third-party plugin is.
"""
from spairkit.registry import TASKS
from spairkit.tasks import Task

from . import datasets, synthesis  # noqa: F401 - importing registers the components


@TASKS.register_module(name='rain_streak')
class RainStreakTask(Task):
    name = 'rain_streak'
    description = 'rain-streak removal (Rain13K, Rain100H/L, Test100/1200/2800, SPA-Data)'
    datasets = {'rain13k': 'Rain13KDataset', 'rain100': 'Rain100Dataset',
                'spa': 'SPADataset'}
    default_layout = 'rain13k'
    # Streaks change mostly brightness; faint tails (< 6% luma) do not count.
    # The mask rule is written once, on the synthesiser (spairkit.mask_rule.MaskRule applies it).
    mask_threshold = synthesis.RainStreakSynthesizer.default_mask_threshold
    mask_on = synthesis.RainStreakSynthesizer.default_mask_on
    synthesizer = {'type': 'RainStreakSynthesizer'}
    # The deraining literature evaluates on MATLAB Y for every one of these sets.
    protocols = {'rain13k': 'rain13k_y', 'rain100': 'rain13k_y', 'spa': 'rain13k_y'}
    configs = {'netl': 'spairkit::rain_streak/netl_rain13k.py',
               'spair': 'spairkit::rain_streak/spair_rain13k.py',
               'netl_synthetic': 'spairkit::rain_streak/netl_synthetic.py',
               'spair_synthetic': 'spairkit::rain_streak/spair_synthetic.py'}
    # Installed with the plugin; resolves spairkit::rain_streak/<file>.
    config_package = __name__ + '.configs'
    batch_size = 8
