"""Built-in task plugin: shadow removal (paper Sec. 4, Table 4, ISTD data).

Registers the task, its dataset layout (:mod:`.datasets`) and its synthesiser
(:mod:`.synthesis`). Found through the ``spairkit.plugins`` entry point
``shadow``, exactly as a third-party plugin is.
"""
from spairkit.registry import TASKS
from spairkit.tasks import Task

from . import datasets, synthesis  # noqa: F401 - importing registers the components


@TASKS.register_module(name='shadow')
class ShadowTask(Task):
    name = 'shadow'
    description = 'shadow removal (ISTD: *_A shadow, *_B mask, *_C shadow-free)'
    datasets = {'istd': 'ISTDDataset'}
    default_layout = 'istd'
    # ISTD ships ground-truth masks; the threshold only serves pairs without one.
    # The mask rule is written once, on the synthesiser (spairkit.mask_rule.MaskRule applies it).
    mask_threshold = synthesis.ShadowSynthesizer.default_mask_threshold
    mask_on = synthesis.ShadowSynthesizer.default_mask_on
    synthesizer = {'type': 'ShadowSynthesizer'}
    protocols = {'istd': 'istd_lab'}
    configs = {'netl': 'spairkit::shadow/netl_istd.py',
               'spair': 'spairkit::shadow/spair_istd.py',
               'netl_synthetic': 'spairkit::shadow/netl_synthetic.py',
               'spair_synthetic': 'spairkit::shadow/spair_synthetic.py'}
    # Installed with the plugin; resolves spairkit::shadow/<file>.
    config_package = __name__ + '.configs'
    batch_size = 8
    # `spairkit demo --task shadow`: 64-pixel training patches, so the 48-pixel crops
    # see shadow borders (measured at the demo budget: +6.2 to +8.2 dB held-out vs
    # +0.38 dB with the demo's 160-pixel patches; docs/benchmarks.md, "Learning").
    demo_options = {'train_dataloader.dataset.patch_size': 64}
