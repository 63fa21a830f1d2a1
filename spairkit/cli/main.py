"""Entry point of the ``spairkit`` console script.

Parses the sub-command, runs it, and turns a user's mistake into one line on
stderr with a non-zero exit code. ``--debug`` (or ``SPAIRKIT_DEBUG=1``) re-raises
so the full traceback is shown.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from types import ModuleType

from spairkit import __version__
from spairkit.cli import commands
from spairkit.cli.errors import describe_exception


def command_modules() -> dict[str, ModuleType]:
    """Sub-command name -> module, for every module in :mod:`spairkit.cli.commands`."""
    found = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module(f'{commands.__name__}.{info.name}')
        found[module.NAME] = module
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='spairkit',
        description='Spatially-adaptive image restoration (SPAIR) on MMEngine.')
    parser.add_argument('--version', action='version', version=f'spairkit {__version__}')
    parser.add_argument('--debug', action='store_true',
                        help='show full tracebacks (also SPAIRKIT_DEBUG=1)')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name, module in command_modules().items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument('--debug', action='store_true', default=argparse.SUPPRESS,
                       help='show full tracebacks (also SPAIRKIT_DEBUG=1)')
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, 'debug', False) or os.environ.get('SPAIRKIT_DEBUG') == '1'
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print('spairkit: interrupted', file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure ends as one line
        if debug:
            raise
        message, code = describe_exception(exc)
        print(f'spairkit {args.command}: error: {message}', file=sys.stderr)
        if code != 2:
            print('(run again with --debug for the full traceback)', file=sys.stderr)
        return code


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
