"""Built-in task plugin: motion deblurring (paper Sec. 4, Table 5: GoPro, HIDE, RealBlur-J).

Registers the task, its dataset layouts (:mod:`.datasets`) and its synthesiser
(:mod:`.synthesis`). Found through the ``spairkit.plugins`` entry point
``motion_blur``, exactly as a third-party plugin is.
"""
from spairkit.registry import TASKS
from spairkit.tasks import Task

from . import datasets, synthesis  # noqa: F401 - importing registers the components


@TASKS.register_module(name='motion_blur')
class MotionBlurTask(Task):
    name = 'motion_blur'
    description = 'motion deblurring (GoPro, HIDE, RealBlur-J)'
    datasets = {'gopro': 'GoProDataset', 'hide': 'HIDEDataset',
                'realblur': 'RealBlurDataset'}
    default_layout = 'gopro'
    # The mask rule is written once, on the synthesiser (spairkit.mask_rule.MaskRule applies it).
    mask_threshold = synthesis.MotionBlurSynthesizer.default_mask_threshold
    mask_on = synthesis.MotionBlurSynthesizer.default_mask_on
    synthesizer = {'type': 'MotionBlurSynthesizer'}
    protocols = {'gopro': 'gopro_rgb', 'hide': 'gopro_rgb', 'realblur': 'realblur_aligned'}
    configs = {'netl': 'spairkit::motion_blur/netl_gopro.py',
               'spair': 'spairkit::motion_blur/spair_gopro.py',
               'netl_synthetic': 'spairkit::motion_blur/netl_synthetic.py',
               'spair_synthetic': 'spairkit::motion_blur/spair_synthetic.py'}
    # The paper trains deblurring with batch 16 (8 for the other tasks).
    # Installed with the plugin; resolves spairkit::motion_blur/<file>.
    config_package = __name__ + '.configs'
    batch_size = 16
