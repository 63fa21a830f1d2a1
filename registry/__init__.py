"""spairkit's registries: children of MMEngine's roots, scope ``spairkit``.

Installed as ``spairkit.registry`` (the repository folder ``registry/`` is mapped
there by ``setup.py``). Every registry names the modules that populate it as lazy
``locations``: nothing is imported, scanned or registered when this module is
imported. The first lookup in any spairkit registry imports those locations and,
once, the third-party plugins advertised under the entry-point group
``spairkit.plugins`` (see :mod:`spairkit.registry.plugin_loader`).
"""

if __name__ != 'spairkit.registry':  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f'the folder registry/ was imported as {__name__!r}; import it as '
        "'spairkit.registry' (install the package with 'pip install -e .') so that "
        'there is exactly one set of registries')

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS

from .plugin_loader import PluginRegistry

SCOPE = 'spairkit'

MODELS = PluginRegistry(
    'model', parent=MMENGINE_MODELS, scope=SCOPE,
    locations=['spairkit.models'])
DATASETS = PluginRegistry(
    'dataset', parent=MMENGINE_DATASETS, scope=SCOPE,
    locations=['spairkit.datasets'])
TRANSFORMS = PluginRegistry(
    'transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
    locations=['spairkit.datasets.transforms'])
METRICS = PluginRegistry(
    'metric', parent=MMENGINE_METRICS, scope=SCOPE,
    locations=['spairkit.evaluation'])
EVALUATOR = PluginRegistry(
    'evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE,
    locations=['spairkit.evaluation'])
HOOKS = PluginRegistry(
    'hook', parent=MMENGINE_HOOKS, scope=SCOPE,
    locations=['spairkit.engine.hooks'])
LOOPS = PluginRegistry(
    'loop', parent=MMENGINE_LOOPS, scope=SCOPE,
    locations=[])
RUNNERS = PluginRegistry(
    'runner', parent=MMENGINE_RUNNERS, scope=SCOPE,
    locations=['spairkit.engine.runner'])
MODEL_WRAPPERS = PluginRegistry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE,
    locations=[])
VISUALIZERS = PluginRegistry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope=SCOPE,
    locations=[])
VISBACKENDS = PluginRegistry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, scope=SCOPE,
    locations=[])
OPTIM_WRAPPERS = PluginRegistry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE,
    locations=['spairkit.engine.optim'])
PARAM_SCHEDULERS = PluginRegistry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE,
    locations=[])
DATA_SAMPLERS = PluginRegistry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE,
    locations=['spairkit.datasets.samplers'])
FUNCTIONS = PluginRegistry(
    'function', parent=MMENGINE_FUNCTIONS, scope=SCOPE,
    locations=['spairkit.datasets'])

# Children with nothing of spairkit's in them yet: they exist so that building
# MMEngine's own optimizers, log processors and initialisers under the
# 'spairkit' scope finds a spairkit node (instead of warning and falling back).
OPTIMIZERS = PluginRegistry('optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE)
OPTIM_WRAPPER_CONSTRUCTORS = PluginRegistry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE)
LOG_PROCESSORS = PluginRegistry('log_processor', parent=MMENGINE_LOG_PROCESSORS, scope=SCOPE)
WEIGHT_INITIALIZERS = PluginRegistry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, scope=SCOPE)

# Roots of this domain (no MMEngine parent).
TASKS = PluginRegistry('task', scope=SCOPE, locations=['spairkit.tasks'])
DEGRADATIONS = PluginRegistry(
    'degradation', scope=SCOPE, locations=['spairkit.degradations'])
# Training losses (SPAIR's pixel_loss / mask_loss). Its own root rather than a child
# of MMEngine's MODELS: that root already has spairkit's MODELS as its 'spairkit'
# child, and a second child of the same scope is not allowed.
LOSSES = PluginRegistry('loss', scope=SCOPE, locations=['spairkit.models.losses'])
# Named evaluation protocols (how a benchmark's published numbers are computed). Each
# entry is a factory returning a frozen spairkit.evaluation.Protocol; built-ins in
# spairkit.evaluation.protocols, plugins add theirs with register_protocol().
PROTOCOLS = PluginRegistry('protocol', scope=SCOPE, locations=['spairkit.evaluation.protocols'])

#: Every spairkit registry by the name ``spairkit list`` accepts.
ALL_REGISTRIES = {
    'models': MODELS,
    'datasets': DATASETS,
    'transforms': TRANSFORMS,
    'metrics': METRICS,
    'evaluator': EVALUATOR,
    'hooks': HOOKS,
    'loops': LOOPS,
    'runners': RUNNERS,
    'model_wrappers': MODEL_WRAPPERS,
    'visualizers': VISUALIZERS,
    'vis_backends': VISBACKENDS,
    'optim_wrappers': OPTIM_WRAPPERS,
    'param_schedulers': PARAM_SCHEDULERS,
    'data_samplers': DATA_SAMPLERS,
    'functions': FUNCTIONS,
    'optimizers': OPTIMIZERS,
    'optim_wrapper_constructors': OPTIM_WRAPPER_CONSTRUCTORS,
    'log_processors': LOG_PROCESSORS,
    'weight_initializers': WEIGHT_INITIALIZERS,
    'tasks': TASKS,
    'degradations': DEGRADATIONS,
    'losses': LOSSES,
    'protocols': PROTOCOLS,
}

__all__ = [
    'SCOPE', 'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'EVALUATOR', 'HOOKS',
    'LOOPS', 'RUNNERS', 'MODEL_WRAPPERS', 'VISUALIZERS', 'VISBACKENDS',
    'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS', 'DATA_SAMPLERS', 'FUNCTIONS', 'TASKS',
    'DEGRADATIONS', 'LOSSES', 'PROTOCOLS', 'OPTIMIZERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'LOG_PROCESSORS',
    'WEIGHT_INITIALIZERS', 'ALL_REGISTRIES', 'PluginRegistry',
]
