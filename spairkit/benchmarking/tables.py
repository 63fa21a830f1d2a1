"""Plain-text (Markdown) tables for benchmark results."""
from __future__ import annotations

from collections.abc import Sequence


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table whose columns are padded to line up in a terminal too."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f'row {row} has {len(row)} cells, expected {len(headers)}')
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |' for row in cells]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def _cell(value: object) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        if value == 0:
            return '0'
        if abs(value) >= 100:
            return f'{value:.0f}'
        if abs(value) >= 1:
            return f'{value:.2f}'
        return f'{value:.3g}'
    return str(value)


def format_ms(seconds: float | None) -> str:
    """Seconds as milliseconds with sensible precision ('-' for None)."""
    if seconds is None:
        return '-'
    ms = seconds * 1e3
    return f'{ms:.0f}' if ms >= 100 else f'{ms:.1f}' if ms >= 1 else f'{ms:.2f}'
