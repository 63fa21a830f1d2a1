"""Built-in task plugin: raindrop removal (paper Sec. 4, Table 3, AGAN data).

Registers the task, its dataset layout (:mod:`.datasets`) and its synthesiser
(:mod:`.synthesis`). Found through the ``spairkit.plugins`` entry point
``raindrop``, exactly as a third-party plugin is.
"""
from spairkit.registry import TASKS
from spairkit.tasks import Task

from . import datasets, synthesis  # noqa: F401 - importing registers the components


@TASKS.register_module(name='raindrop')
class RaindropTask(Task):
    name = 'raindrop'
    description = 'raindrop removal (AGAN / DeRaindrop: data/N_rain.png + gt/N_clean.png)'
    datasets = {'agan': 'AGANDataset'}
    default_layout = 'agan'
    # The mask rule is written once, on the synthesiser (spairkit.mask_rule.MaskRule applies it).
    mask_threshold = synthesis.RaindropSynthesizer.default_mask_threshold
    mask_on = synthesis.RaindropSynthesizer.default_mask_on
    synthesizer = {'type': 'RaindropSynthesizer'}
    protocols = {'agan': 'agan_y_crop4'}
    configs = {'netl': 'spairkit::raindrop/netl_agan.py',
               'spair': 'spairkit::raindrop/spair_agan.py',
               'netl_synthetic': 'spairkit::raindrop/netl_synthetic.py',
               'spair_synthetic': 'spairkit::raindrop/spair_synthetic.py'}
    # Installed with the plugin; resolves spairkit::raindrop/<file>.
    config_package = __name__ + '.configs'
    batch_size = 8
