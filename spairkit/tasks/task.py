"""The task-plugin contract: what a degradation task declares about itself.

A task (rain streaks, raindrops, shadows, motion blur, or a third party's haze) is a
subclass of :class:`Task` whose class attributes describe it, registered in
``TASKS`` under its :attr:`Task.name`::

    @TASKS.register_module(name='snow')
    class SnowTask(Task):
        name = 'snow'
        ...

A class (not an instance) is registered because MMEngine registries hold callables;
:func:`get_task` returns an instance. Everything is checked when the subclass is
defined, so a plugin with a wrong declaration fails at import with a message naming
the attribute, not later in the middle of a training run.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from spairkit.degradations.base import MASK_MODES
from spairkit.errors import ConfigError
from spairkit.registry import PROTOCOLS

_NAME = re.compile(r'^[a-z][a-z0-9_]*$')
_PACKAGE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$')
#: Config roles (keys of :attr:`Task.configs`): the two SPAIR stages on the task's
#: standard layout and on synthesised pairs.
CONFIG_ROLES = ('netl', 'spair', 'netl_synthetic', 'spair_synthetic')
#: The roles every task must declare: with them the task trains out of the box.
REQUIRED_CONFIG_ROLES = ('netl_synthetic', 'spair_synthetic')


class Task:
    """Declaration of one degradation task; subclass it and set every attribute.

    Attributes:
        name: registry key and the ``task`` field of data samples (``[a-z][a-z0-9_]*``).
        description: one line for ``spairkit list tasks``.
        datasets: dataset layout name -> dataset type registered in ``DATASETS``.
        default_layout: the layout used when a config or user names none.
        mask_threshold: fraction of the image range a pixel must change by to count
            as degraded when a dataset has no ground-truth mask (paper Sec. 3.1).
        mask_on: ``'max'`` (largest channel difference) or ``'y'`` (luma difference).
        synthesizer: ``dict(type=<DEGRADATIONS name>, **default kwargs)``.
        protocols: dataset layout -> name of an evaluation protocol registered in
            ``PROTOCOLS`` (built-ins such as ``'rain13k_y'``, or the plugin's own,
            registered with :func:`spairkit.evaluation.register_protocol` first); checked
            when the class is defined.
        configs: config role (:data:`CONFIG_ROLES`) -> config path, written
            ``'spairkit::<task>/<file>.py'`` or ``'<package>::<file>.py'`` for configs in
            :attr:`config_package`. The synthetic roles (:data:`REQUIRED_CONFIG_ROLES`)
            are required: every task trains out of the box.
        config_package: importable package (dotted name) whose folder holds the task's
            configs, installed with the plugin, e.g. ``'spairkit_haze.configs'``. With it,
            ``spairkit::<task>/<file>`` and ``<top-level package>::<file>`` resolve
            there, from the command line and from any config's ``_base_``
            (:mod:`spairkit.config`). ``None``: the task ships no configs.
        batch_size: training batch size (the paper's, per task).
        crop_size: training crop side (256 in the paper).
        demo_options: config overrides (dotted keys, as ``--cfg-options`` takes them)
            that ``spairkit demo --task <name>`` applies to both of its stages after
            swapping in the task's synthesiser; default none. For what the demo's
            small CPU budget needs per task, e.g. the size of the synthesised training
            patches its crops are cut from (the synthesisers scale a degradation with
            the patch: a 48-pixel crop of a 160-pixel patch sees a shadow's inside but
            rarely its border).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    datasets: ClassVar[Mapping[str, str]]
    default_layout: ClassVar[str]
    mask_threshold: ClassVar[float]
    mask_on: ClassVar[str] = 'max'
    synthesizer: ClassVar[Mapping[str, Any]]
    protocols: ClassVar[Mapping[str, str]]
    configs: ClassVar[Mapping[str, str]]
    config_package: ClassVar[str | None] = None
    batch_size: ClassVar[int]
    crop_size: ClassVar[int] = 256
    demo_options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _validate(cls)
        # Freeze the mappings so one caller cannot change the task for everyone.
        for attr in ('datasets', 'synthesizer', 'protocols', 'configs', 'demo_options'):
            setattr(cls, attr, MappingProxyType(dict(getattr(cls, attr))))

    # -- derived helpers -----------------------------------------------------------
    def dataset_type(self, layout: str | None = None) -> str:
        """The ``DATASETS`` type of ``layout`` (the default layout if None)."""
        layout = self.default_layout if layout is None else layout
        if layout not in self.datasets:
            raise ConfigError(
                f"task '{self.name}' has no dataset layout {layout!r}; "
                f'known layouts: {sorted(self.datasets)}')
        return self.datasets[layout]

    def protocol(self, layout: str | None = None) -> str:
        """The named evaluation protocol of ``layout`` (the default layout if None)."""
        layout = self.default_layout if layout is None else layout
        if layout not in self.protocols:
            raise ConfigError(
                f"task '{self.name}' has no evaluation protocol for layout {layout!r}; "
                f'known: {sorted(self.protocols)}')
        return self.protocols[layout]

    def synthesizer_cfg(self, **overrides) -> dict:
        """The synthesiser config with ``overrides`` merged over the task defaults."""
        return {**self.synthesizer, **overrides}

    def build_synthesizer(self, **overrides):
        """The task's synthesiser (a :class:`spairkit.degradations.Degradation`)."""
        from spairkit.degradations import build_degradation
        return build_degradation(self.synthesizer_cfg(**overrides))

    def mask_rule(self) -> dict:
        """Keyword arguments of the mask rule: ``threshold`` and ``on``."""
        return dict(threshold=self.mask_threshold, on=self.mask_on)

    def config(self, role: str) -> str:
        """Path of the task's config for ``role`` (see :data:`CONFIG_ROLES`)."""
        if role not in self.configs:
            raise ConfigError(
                f"task '{self.name}' has no {role!r} config; known: {sorted(self.configs)}")
        return self.configs[role]

    def describe(self) -> dict:
        """Everything the task declares, as plain data (for listings and reports)."""
        return dict(
            name=self.name, description=self.description, datasets=dict(self.datasets),
            default_layout=self.default_layout, mask_threshold=self.mask_threshold,
            mask_on=self.mask_on, synthesizer=dict(self.synthesizer),
            protocols=dict(self.protocols), configs=dict(self.configs),
            config_package=self.config_package, batch_size=self.batch_size,
            crop_size=self.crop_size, demo_options=dict(self.demo_options))

    def __repr__(self) -> str:
        return f'<Task {self.name!r} from {type(self).__module__}>'


def _validate(cls: type) -> None:
    where = f'{cls.__module__}.{cls.__qualname__}'

    def fail(attr: str, why: str) -> None:
        raise ConfigError(f'task {where}: {attr} {why}')

    for attr in ('name', 'description', 'datasets', 'default_layout', 'mask_threshold',
                 'synthesizer', 'protocols', 'configs', 'batch_size'):
        if not hasattr(cls, attr):
            fail(attr, 'is not set')
    if not isinstance(cls.name, str) or not _NAME.match(cls.name):
        fail('name', f'must match [a-z][a-z0-9_]*, got {cls.name!r}')
    if not isinstance(cls.description, str) or not cls.description.strip():
        fail('description', 'must be a non-empty string')
    for attr in ('datasets', 'protocols', 'configs', 'synthesizer', 'demo_options'):
        value = getattr(cls, attr)
        if not isinstance(value, Mapping):
            fail(attr, f'must be a mapping, got {type(value).__name__}')
    for key in cls.demo_options:
        if not isinstance(key, str) or not key or not all(key.split('.')):
            fail('demo_options', f"keys must be dotted config keys such as "
                 f"'train_dataloader.dataset.patch_size', got {key!r}")
    for attr in ('datasets', 'protocols', 'configs'):
        for key, value in getattr(cls, attr).items():
            if not isinstance(key, str) or not isinstance(value, str) or not value:
                fail(attr, f'must map strings to non-empty strings, got {key!r}: {value!r}')
    if not cls.datasets:
        fail('datasets', 'must name at least one layout')
    if cls.default_layout not in cls.datasets:
        fail('default_layout', f'{cls.default_layout!r} is not one of {sorted(cls.datasets)}')
    missing = sorted(set(cls.datasets) - set(cls.protocols))
    if missing:
        fail('protocols', f'has no protocol for layouts {missing}')
    PROTOCOLS.import_from_location()
    unknown = sorted(set(cls.protocols.values()) - set(PROTOCOLS.module_dict))
    if unknown:
        fail('protocols', f'names protocols that are not registered: {unknown} (registered: '
             f'{sorted(PROTOCOLS.module_dict)}); a plugin registers its own with '
             'spairkit.evaluation.register_protocol() before defining its task')
    missing = [role for role in REQUIRED_CONFIG_ROLES if role not in cls.configs]
    if missing:
        fail('configs', f'lacks the roles {missing}')
    if not isinstance(cls.synthesizer.get('type'), str):
        fail('synthesizer', "must be a dict with a string 'type'")
    threshold = cls.mask_threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0 < threshold < 1:
        fail('mask_threshold', f'must be in (0, 1), got {threshold!r}')
    if cls.mask_on not in MASK_MODES:
        fail('mask_on', f'must be one of {MASK_MODES}, got {cls.mask_on!r}')
    package = cls.config_package
    if package is not None and (not isinstance(package, str) or not _PACKAGE.match(package)):
        fail('config_package', f'must be a dotted package name or None, got {package!r}')
    for attr in ('batch_size', 'crop_size'):
        value = getattr(cls, attr)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            fail(attr, f'must be a positive integer, got {value!r}')
