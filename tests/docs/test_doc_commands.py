"""Every ``spairkit`` command shown in the docs parses, names files that exist, and the
short ones (``list``, ``ops info``) run.

Long commands (training on a user's dataset, restoring a user's folder) are covered by
the tests of those commands; here each one is checked against the real argument
parser, so a renamed flag or a moved config breaks the build instead of the docs.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from spairkit.cli.main import build_parser, main
from spairkit.config import resolve_config_path
from tests.conftest import REPO

DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md')),
        *sorted((REPO / 'examples').glob('*/README.md'))]
RUNNABLE = {('list',), ('ops', 'info')}
_FENCE = re.compile(r'```(?:bash|sh|shell|console)\n(.*?)```', re.S)


def _commands(doc: Path) -> list[str]:
    found = []
    for block in _FENCE.findall(doc.read_text()):
        text = block.replace('\\\n', ' ')
        # Shell variables set in the block (NAME="...") are expanded in its commands.
        for name, value in re.findall(r'^(\w+)="([^"]*)"', text, re.M):
            text = text.replace(f'${name}', ' '.join(value.split()))
        for line in text.splitlines():
            line = line.split(' #')[0].strip().removeprefix('$ ')
            if 'spairkit.cli.main ' in line:  # torchrun ... -m spairkit.cli.main train ...
                line = 'spairkit ' + line.split('spairkit.cli.main ', 1)[1]
            if line.startswith('spairkit ') and '[' not in line and '|' not in line:
                found.append(line)
    return found


CASES = [(doc.relative_to(REPO).as_posix(), cmd) for doc in DOCS for cmd in _commands(doc)]


def test_docs_show_commands():
    assert len(CASES) >= 15
    shown = {cmd.split()[1] for _, cmd in CASES}
    assert {'train', 'test', 'restore', 'demo', 'list', 'synth', 'ops'} <= shown


@pytest.mark.parametrize('doc,command', CASES, ids=[f'{d}: {c[:60]}' for d, c in CASES])
def test_doc_command(doc, command):
    argv = [t for t in shlex.split(command)[1:] if not t.startswith('$')]
    args = build_parser().parse_args(argv)  # SystemExit(2) on a wrong flag
    for token in argv:
        if token.startswith('spairkit::'):
            resolve_config_path(token)
        elif re.fullmatch(r'(configs|examples)/[\w/.-]+\.py', token):
            assert (REPO / token).is_file(), f'{doc}: {token} does not exist'
    if tuple(argv[:2]) in RUNNABLE or tuple(argv[:1]) in RUNNABLE:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert main(argv) == 0, f'{doc}: {command}'
        assert out.getvalue().strip()
    assert args.command == argv[0]
