"""Check a config's component arguments before anything is built.

MMEngine builds components by calling ``cls(**kwargs)``; a typo'd key or a wrong
value type then fails deep inside the component (or, worse, inside PyTorch) with
a message that names neither the key nor the component. :func:`validate_config`
walks the parts of a config that name registered components (``model``, the
datasets with their pipelines, the evaluators), looks each ``type`` up, and
compares the given keys and values with the constructor's signature and type
hints. Errors name the config path, the component and the key.

Only what can be decided from the signature is checked: unknown keywords (unless
the constructor takes ``**kwargs``) and values whose annotation is a plain type
(``int``, ``float``, ``str``, ``bool``, ``dict``, ``list``/``tuple``/``Sequence``,
unions and ``Optional`` of those). Anything else is left to the component.

Besides the components, the few values every run needs are checked the same way
(:func:`_check_run_values`): ``model`` is a dict naming a ``type``; the loop's
``max_iters``/``max_epochs``/``val_interval`` and each dataloader's ``batch_size``
are positive integers, ``num_workers`` is >= 0. An integer component argument whose
name says it counts something (:data:`POSITIVE_INT_NAMES`: ``*channels``, ``growth``,
``num_*``, ``*_size`` ...) must be >= 1: a negative or zero size otherwise ends as
an error deep inside PyTorch that names neither the key nor the component.
"""
from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from mmengine.config import Config, ConfigDict

from spairkit.errors import ConfigError, unknown_component_message

_SIMPLE = {int, float, str, bool, dict, list, tuple, type(None)}

#: Integer arguments with these names count channels, layers, pixels...: must be >= 1.
POSITIVE_INT_NAMES = re.compile(
    r'(^|_)(channels|growth|layers|levels|steps|heads|depth|size|iters|epochs|interval)$'
    r'|^num_(?!workers$)')
_LOOP_KEYS = ('max_iters', 'max_epochs', 'val_interval', 'val_begin')


def validate_config(cfg: Config) -> None:
    """Raise :class:`ConfigError` for the first bad component argument in ``cfg``."""
    from spairkit.registry import DATASETS, DEGRADATIONS, LOSSES, METRICS, MODELS, TRANSFORMS

    _check_run_values(cfg)
    nested = {'degradation': DEGRADATIONS, 'pipeline': TRANSFORMS}
    if isinstance(cfg.get('model'), Mapping):
        _check_component('model', cfg['model'], MODELS,
                         {'pixel_loss': LOSSES, 'mask_loss': LOSSES})
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, Mapping) and isinstance(loader.get('dataset'), Mapping):
            _check_component(f'{split}_dataloader.dataset', loader['dataset'], DATASETS, nested)
        evaluator = cfg.get(f'{split}_evaluator')
        for i, metric in enumerate(evaluator if isinstance(evaluator, list) else [evaluator]):
            if isinstance(metric, Mapping):
                path = f'{split}_evaluator' + (f'[{i}]' if isinstance(evaluator, list) else '')
                _check_component(path, metric, METRICS, {})


def _positive_int(path: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f'{path}={value!r}: expected an integer >= {minimum}, '
                          f'got {type(value).__name__}')
    if value < minimum:
        raise ConfigError(f'{path}={value!r}: expected an integer >= {minimum}')


def _check_run_values(cfg: Config) -> None:
    """The values outside components that a run needs (see the module docstring)."""
    model = cfg.get('model')
    if not isinstance(model, Mapping):
        raise ConfigError(f"model={model!r}: expected a dict naming a registered model, e.g. "
                          f"model=dict(type='SPAIR', ...), got {type(model).__name__}")
    model_type = model.get('type')
    if not isinstance(model_type, (str, type)):
        raise ConfigError(f'model.type={model_type!r}: expected the name of a registered model '
                          "(a string such as 'SPAIR'; see 'spairkit list models')")
    for loop in ('train_cfg', 'val_cfg', 'test_cfg'):
        loop_cfg = cfg.get(loop)
        if isinstance(loop_cfg, Mapping):
            for key in _LOOP_KEYS:
                if key in loop_cfg:
                    _positive_int(f'{loop}.{key}', loop_cfg[key], 0 if key == 'val_begin' else 1)
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, Mapping):
            if 'batch_size' in loader:
                _positive_int(f'{split}_dataloader.batch_size', loader['batch_size'])
            if 'num_workers' in loader:
                _positive_int(f'{split}_dataloader.num_workers', loader['num_workers'], 0)


def _lookup(registry, type_name: str):
    """The registered class, from spairkit's registry or its MMEngine parents."""
    registry.import_from_location()
    return registry.get(type_name)


def _all_names(registry) -> list[str]:
    names, node = set(), registry
    while node is not None:
        names |= set(node.module_dict)
        node = node.parent
    return sorted(names)


def _check_component(path: str, cfg: Mapping, registry, nested: dict) -> None:
    if 'type' in cfg and cfg['type'] is None:
        raise ConfigError(f"{path}.type=None: expected the name of a registered component")
    type_name = cfg.get('type')
    if not isinstance(type_name, str):
        return  # a class object or no type: nothing to look up
    cls = _lookup(registry, type_name)
    if cls is None:
        raise ConfigError(f'{path}: ' + unknown_component_message(
            f'{registry.scope}::{registry.name}', type_name, _all_names(registry)))
    target = cls.__init__ if inspect.isclass(cls) else cls
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    params = {n: p for n, p in signature.parameters.items() if n != 'self'}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    hints = _type_hints(target)
    for key, value in cfg.items():
        if key in ('type', '_scope_'):
            continue
        if key not in params:
            if not takes_kwargs:
                known = ', '.join(n for n, p in params.items()
                                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
                raise ConfigError(f"{path}: {type_name} has no argument '{key}' "
                                  f'(it takes: {known})')
            continue
        hint = hints.get(key)
        if hint is not None and not _matches(value, hint):
            raise ConfigError(f'{path}.{key}: {type_name} expects {_describe(hint)}, '
                              f'got {type(value).__name__} {value!r}')
        if isinstance(value, int) and not isinstance(value, bool) and value < 1 \
                and POSITIVE_INT_NAMES.search(key):
            raise ConfigError(f'{path}.{key}={value}: {type_name} expects a positive '
                              'integer (it counts channels, layers or pixels)')
        _check_children(f'{path}.{key}', key, value, registry, nested)


def _check_children(path: str, key: str, value: Any, registry, nested: dict) -> None:
    """Recurse into sub-components. Keys in ``nested`` name their registry, so an
    unknown type there is an error; elsewhere a dict is only checked when its type
    is found in the parent's registry (it may belong to another registry)."""
    explicit = key in nested
    child_registry = nested.get(key, registry)
    if isinstance(value, Mapping):
        items = [(path, value)]
    elif isinstance(value, (list, tuple)):
        items = [(f'{path}[{i}]', item) for i, item in enumerate(value)]
    else:
        items = []
    for item_path, item in items:
        if isinstance(item, Mapping) and isinstance(item.get('type'), str):
            if explicit or _lookup(child_registry, item['type']) is not None:
                _check_component(item_path, item, child_registry, nested)


def _type_hints(target) -> dict:
    try:
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - unresolvable hints are simply not checked
        return {}


def _matches(value: Any, hint: Any) -> bool:
    """True unless ``hint`` is a checkable type that ``value`` clearly violates."""
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if not all(_checkable(a) for a in args):
            return True
        return any(_matches(value, a) for a in args)
    if origin is not None:
        hint = origin
    if hint in (collections.abc.Sequence, list, tuple):
        return isinstance(value, (list, tuple))
    if hint in (collections.abc.Mapping, dict):
        return isinstance(value, (dict, ConfigDict))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in _SIMPLE:
        return isinstance(value, hint)
    return True


def _checkable(hint: Any) -> bool:
    origin = typing.get_origin(hint) or hint
    return origin in _SIMPLE or origin in (collections.abc.Sequence, collections.abc.Mapping)


def _describe(hint: Any) -> str:
    text = str(hint).replace('typing.', '').replace('collections.abc.', '')
    return text.replace("<class '", '').replace("'>", '')
