"""spairkit-haze: an example third-party task plugin (spatially varying haze).

Installed with ``pip install examples/custom_task_plugin``, it is advertised under the
``spairkit.plugins`` entry-point group (see pyproject.toml); spairkit imports this
module on the first registry lookup, and the imports below register:

* ``HazeSynthesizer`` in DEGRADATIONS (:mod:`.synthesis`),
* ``HazeMetric`` in METRICS (:mod:`.metric`),
* the ``haze_rgb`` evaluation protocol in PROTOCOLS (below, before the task names it),
* the ``haze`` task in TASKS (below), whose configs live in ``spairkit_haze.configs``
  and are named ``spairkit_haze::<file>`` (or ``spairkit::haze/<file>``).

Nothing here is special-cased by spairkit: the built-in tasks are written the same way.
"""
from spairkit.evaluation import Protocol, register_protocol
from spairkit.registry import TASKS
from spairkit.tasks import Task

from . import metric, synthesis  # noqa: F401 - importing registers the components

__all__ = ['HAZE_RGB', 'HazeTask']

# Dehazing benchmarks (RESIDE SOTS) report RGB PSNR/SSIM averaged over channels.
HAZE_RGB = register_protocol(Protocol(
    'haze_rgb', colour='rgb',
    description='Dehazing (RESIDE SOTS): RGB PSNR/SSIM averaged over channels, no crop'))


@TASKS.register_module(name='haze')
class HazeTask(Task):
    name = 'haze'
    description = 'dehazing of spatially varying haze (example third-party plugin)'
    # Real hazy/clear pairs in input/ + target/ (e.g. RESIDE converted to that layout).
    datasets = {'folder': 'PairedFolderDataset'}
    default_layout = 'folder'
    # The mask rule is written once, on the synthesiser; datasets, SPAIR and the
    # metrics apply it to haze samples through this declaration.
    mask_threshold = synthesis.HazeSynthesizer.default_mask_threshold
    mask_on = synthesis.HazeSynthesizer.default_mask_on
    synthesizer = {'type': 'HazeSynthesizer'}
    protocols = {'folder': HAZE_RGB.name}
    configs = {'netl_synthetic': 'spairkit_haze::netl_haze_synthetic.py',
               'spair_synthetic': 'spairkit_haze::spair_haze_synthetic.py'}
    config_package = 'spairkit_haze.configs'
    batch_size = 8
