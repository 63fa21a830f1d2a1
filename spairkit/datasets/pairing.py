"""Pairing degraded, clean and mask files by explicit name rules.

Benchmark folders are paired by *name*, never by position in a sorted listing:
one missing or extra file would otherwise shift every later pair silently. A
rule is a filename template such as ``'{stem}_rain.png'``; the regular
expression built from it extracts the shared ``stem`` and files with the same
stem in each role's folder form one sample. Anything that does not pair is an
error that lists the files (first few and a count) with their folders.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spairkit.errors import ConfigError, DataError

from .image_io import IMAGE_EXTENSIONS, is_image_file

#: How many offending files an error message lists before "and N more".
MAX_LISTED = 5

#: Human names of the roles, used in error messages.
ROLE_NAMES = {'img_path': 'input', 'gt_path': 'target', 'mask_path': 'mask'}

_EXT_PATTERN = '(?P<ext>' + '|'.join(re.escape(e) for e in IMAGE_EXTENSIONS) + ')'
_FIELD = re.compile(r'\{(\w*)\}')


def natural_key(text: str) -> list:
    """Sort key that orders ``'2'`` before ``'10'`` (benchmarks number files)."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r'(\d+)', text)]


def format_listing(items: Sequence[str], limit: int = MAX_LISTED) -> str:
    """``'a, b, c and 7 more'`` - keeps error messages to one readable line."""
    shown = ', '.join(items[:limit])
    rest = len(items) - limit
    return f'{shown} and {rest} more' if rest > 0 else shown


@dataclass(frozen=True)
class FilenameTemplate:
    """A filename rule with one ``{stem}`` and optionally one ``{ext}`` field.

    ``{stem}`` matches any non-empty text; ``{ext}`` matches any image extension
    of :data:`IMAGE_EXTENSIONS`, case-insensitively (so ``'{stem}_rain{ext}'``
    accepts ``3_rain.png`` and ``3_rain.JPG``). The rest of the template is
    literal text.
    """

    template: str

    def __post_init__(self) -> None:
        fields = _FIELD.findall(self.template)
        bad = [f for f in fields if f not in ('stem', 'ext')]
        if bad or fields.count('stem') != 1 or fields.count('ext') > 1:
            raise ConfigError(
                f'filename template {self.template!r} must contain exactly one {{stem}} '
                'and at most one {ext} field, and no other {...} fields')
        if '/' in self.template or os.sep in self.template:
            raise ConfigError(
                f'filename template {self.template!r} must be a file name, not a path')

    @property
    def regex(self) -> re.Pattern:
        parts = []
        for piece in re.split(r'(\{stem\}|\{ext\})', self.template):
            if piece == '{stem}':
                parts.append('(?P<stem>.+)')
            elif piece == '{ext}':
                parts.append(f'(?i:{_EXT_PATTERN})')
            else:
                parts.append(re.escape(piece))
        return re.compile(''.join(parts))

    def stem_of(self, filename: str) -> str | None:
        """The stem of ``filename`` under this rule, or ``None`` if it does not match."""
        match = self.regex.fullmatch(filename)
        return match.group('stem') if match else None

    def example(self, stem: str) -> str:
        """The name a file of ``stem`` is expected to have (for error messages)."""
        return self.template.replace('{stem}', stem)


def list_images(folder: str) -> list[str]:
    """Image file names directly inside ``folder``; a missing folder is a DataError."""
    if not os.path.isdir(folder):
        raise DataError(f'dataset folder not found: {folder}')
    return sorted(name for name in os.listdir(folder)
                  if is_image_file(name) and os.path.isfile(os.path.join(folder, name)))


def pair_by_template(
        roles: Mapping[str, tuple[str, str]],
        data_root: str = '',
        ignore_unmatched: bool = False,
        key_prefix: str = '') -> list[dict]:
    """Pair files across folders by the stem each role's template extracts.

    Args:
        roles: ``{'img_path': (folder, template), 'gt_path': (...), ...}``;
            folders are joined to ``data_root``. Several roles may share a
            folder (Rain100's ``rain-N.png`` and ``norain-N.png`` side by side).
        data_root: the dataset root, named in error messages.
        ignore_unmatched: if False (default) an image file that matches no
            template of its folder is an error, because it usually means a
            wrong template; if True such files are left out.
        key_prefix: prepended to every stem in the returned ``'key'`` (GoPro
            pairs per sequence and needs unique keys across sequences).

    Returns:
        One dict per stem, in natural order of the stem: the role keys with full
        paths, plus ``'key'`` (prefix + stem).

    Raises:
        DataError: a folder is missing, two files of one role share a stem, or
            some files are unpaired/unrecognised (all listed, first few shown).
    """
    folders = {role: os.path.normpath(os.path.join(data_root, folder))
               for role, (folder, _) in roles.items()}
    templates = {role: FilenameTemplate(tpl) for role, (_, tpl) in roles.items()}
    missing = list(dict.fromkeys(f for f in folders.values() if not os.path.isdir(f)))
    if missing:
        raise DataError(f'dataset folder not found: {format_listing(missing)}')
    listings = {folder: list_images(folder) for folder in dict.fromkeys(folders.values())}

    by_role: dict[str, dict[str, str]] = {}
    matched: set[tuple[str, str]] = set()
    for role, folder in folders.items():
        stems: dict[str, str] = {}
        for name in listings[folder]:
            stem = templates[role].stem_of(name)
            if stem is None:
                continue
            matched.add((folder, name))
            if stem in stems:
                raise DataError(
                    f'two {ROLE_NAMES.get(role, role)} files share the stem {stem!r} in '
                    f'{folder}: {stems[stem]} and {name}; keep one or narrow the template '
                    f'{templates[role].template!r}')
            stems[stem] = name
        by_role[role] = stems

    problems: list[str] = []
    if not ignore_unmatched:
        for folder, names in sorted(listings.items()):
            for name in names:
                if (folder, name) not in matched:
                    problems.append(f'{os.path.join(folder, name)} (matches no template)')

    all_stems = sorted(set().union(*[set(s) for s in by_role.values()]), key=natural_key)
    pairs = []
    for stem in all_stems:
        missing = [role for role in roles if stem not in by_role[role]]
        if missing:
            present = [role for role in roles if stem in by_role[role]]
            have = os.path.join(folders[present[0]], by_role[present[0]][stem])
            wanted = ', '.join(
                f'{ROLE_NAMES.get(r, r)} {os.path.join(folders[r], templates[r].example(stem))}'
                for r in missing)
            problems.append(f'{have} (no {wanted})')
            continue
        sample = {role: os.path.join(folders[role], by_role[role][stem]) for role in roles}
        sample['key'] = key_prefix + stem
        pairs.append(sample)

    if problems:
        raise DataError(
            f'{len(problems)} unpaired file(s) under {data_root or "."}: '
            f'{format_listing(problems)}')
    return pairs


def read_pair_list(
        ann_file: str,
        data_root: str | None = None,
        columns: Sequence[str] = ('img_path', 'gt_path')) -> list[dict]:
    """Read a list file with one pair per line: whitespace-separated paths.

    ``columns`` names what each column holds (SPA-Data lists ``rain gt``,
    RealBlur lists ``gt blur``). Paths are relative to ``data_root`` (default:
    the list file's folder); a leading ``/`` is stripped, because SPA-Data's
    lists write root-relative paths as ``/real_world/...``. Blank lines and lines
    starting with ``#`` are skipped. Every listed file must exist; the missing
    ones are reported together.
    """
    if not os.path.isfile(ann_file):
        raise DataError(f'list file not found: {ann_file}')
    root = os.path.dirname(os.path.abspath(ann_file)) if data_root is None else data_root
    samples: list[dict] = []
    missing: list[str] = []
    with open(ann_file, encoding='utf-8') as handle:
        for lineno, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith('#'):
                continue
            parts = text.split()
            if len(parts) != len(columns):
                raise DataError(
                    f'{ann_file}:{lineno}: expected {len(columns)} paths '
                    f'({" ".join(ROLE_NAMES.get(c, c) for c in columns)}), '
                    f'got {len(parts)}: {text!r}')
            sample = {col: os.path.join(root, part.lstrip('/'))
                      for col, part in zip(columns, parts)}
            missing.extend(p for p in sample.values() if not os.path.isfile(p))
            key_col = list(columns).index('img_path') if 'img_path' in columns else 0
            sample['key'] = os.path.splitext(parts[key_col].lstrip('/'))[0]
            samples.append(sample)
    if missing:
        raise DataError(
            f'{len(missing)} file(s) listed in {ann_file} not found: {format_listing(missing)}')
    if not samples:
        raise DataError(f'list file has no pairs: {ann_file}')
    return samples
