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
    # `spairkit demo --task raindrop`: MSE plus 0.2 x L1 on the ground-truth clean
    # pixels. With the demo's L1 the restorer stays near the identity (most pixels in
    # the gate are clean or nearly so, and L1's optimum for a pixel it cannot yet
    # predict is its median, the input); MSE moves the drops, the clean-pixel L1 asks
    # the rest to stay put. What it trades, measured at the demo budget
    # (docs/benchmarks.md, "Raindrops"): held-out gain +0.24 -> +1.79 dB, degraded
    # 18.33 -> 20.12 dB, but the clean region 41.73 -> 36.68 dB (input: 43.40).
    demo_options = {'model.pixel_loss': dict(
        type='SumOfLosses', loss_name='loss_pixel',
        losses=[dict(type='MSELoss'),
                dict(type='RegionWeightedPixelLoss', criterion='l1', degraded_weight=0.0,
                     clean_weight=1.0, loss_weight=0.2)])}
