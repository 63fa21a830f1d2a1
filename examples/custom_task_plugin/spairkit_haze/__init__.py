"""spairkit-haze: an example third-party task plugin (spatially varying haze).

Installed with ``pip install examples/custom_task_plugin``, it is advertised under the
``spairkit.plugins`` entry-point group (see pyproject.toml); spairkit imports this
module on the first registry lookup, and the imports below register:

* ``HazeSynthesizer`` in DEGRADATIONS (:mod:`.synthesis`),
* ``HazeMetric`` in METRICS (:mod:`.metric`),
* the ``haze`` task in TASKS (below).

Nothing here is special-cased by spairkit: the built-in tasks are written the same way.
"""
from importlib import resources

from spairkit.registry import TASKS
from spairkit.tasks import Task

from . import metric, synthesis  # noqa: F401 - importing registers the components

__all__ = ['HazeTask']


def _config(name: str) -> str:
    """Absolute path of one of this plugin's configs, wherever the plugin is installed."""
    return str(resources.files('spairkit_haze.configs') / name)


@TASKS.register_module(name='haze')
class HazeTask(Task):
    name = 'haze'
    description = 'dehazing of spatially varying haze (example third-party plugin)'
    # Real hazy/clear pairs in input/ + target/ (e.g. RESIDE converted to that layout).
    datasets = {'folder': 'PairedFolderDataset'}
    default_layout = 'folder'
    mask_threshold = 0.08
    mask_on = 'y'
    synthesizer = {'type': 'HazeSynthesizer'}
    # Dehazing benchmarks (RESIDE SOTS) report RGB PSNR/SSIM, as GoPro does.
    protocols = {'folder': 'gopro_rgb'}
    configs = {'netl_synthetic': _config('netl_haze_synthetic.py'),
               'spair_synthetic': _config('spair_haze_synthetic.py')}
    batch_size = 8
