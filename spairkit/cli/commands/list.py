"""``spairkit list [REGISTRY]``: what is registered, and where each came from."""
from __future__ import annotations

import argparse

from spairkit.errors import ConfigError, closest

NAME = 'list'
HELP = 'list registered components (models, blocks, tasks, datasets, metrics, ...)'

#: Views that are not registries of their own: name -> (registry, module prefix).
VIEWS = {'blocks': ('models', 'spairkit.models.blocks')}
ALIASES = {'model': 'models', 'dataset': 'datasets', 'metric': 'metrics', 'task': 'tasks',
           'degradation': 'degradations', 'transform': 'transforms', 'hook': 'hooks',
           'block': 'blocks', 'runner': 'runners'}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('registry', nargs='?', default=None,
                        help='one registry (e.g. models, blocks, tasks); default: all')


def run(args: argparse.Namespace) -> int:
    from spairkit.registry import ALL_REGISTRIES

    names = sorted(ALL_REGISTRIES) + sorted(VIEWS)
    wanted = ALIASES.get(args.registry, args.registry)
    if wanted is not None and wanted not in names:
        near = closest(wanted, names)
        hint = f"; did you mean {', '.join(near)}?" if near else ''
        raise ConfigError(f"unknown registry '{args.registry}'{hint} (known: {', '.join(names)})")
    for name in [wanted] if wanted else sorted(ALL_REGISTRIES):
        registry_name, prefix = VIEWS.get(name, (name, ''))
        sources = ALL_REGISTRIES[registry_name].sources()
        rows = {k: v for k, v in sources.items() if v.startswith(prefix)}
        print(f'{name} ({len(rows)})')
        width = max((len(k) for k in rows), default=0)
        for key, where in rows.items():
            print(f'  {key:<{width}}  {where}')
    return 0
