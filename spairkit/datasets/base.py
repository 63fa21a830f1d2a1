"""Base class of every on-disk paired dataset.

A dataset only *finds* the files: :meth:`PairedImageDataset.scan_pairs` returns
one dict of paths per sample (``img_path``, ``gt_path``, optional
``mask_path``), and the pipeline (normally starting with ``LoadPairFromFile``)
reads them lazily, so building a dataset of thousands of images is cheap and
each data-loader worker decodes only what it serves.

Bad input is handled in one place for all layouts:

* ``check_files=True`` decodes every pair once at build time and checks that it
  is readable, that input/target/mask sizes agree and that it is at least as
  large as the pipeline's crop. ``on_bad_sample='raise'`` turns the first
  problem into a :class:`~spairkit.errors.DataError`; ``'skip'`` drops the pair,
  warns once naming the file and records it in :attr:`skipped`.
* Without the build-time check, a bad pair surfaces when it is loaded.
  ``on_bad_sample='skip'`` then makes a *training* dataset warn once per file,
  count it in :attr:`num_skipped_at_load` and serve another sample; in
  ``test_mode`` the error is always raised, because silently evaluating on a
  subset would make reported numbers incomparable.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from mmengine.dataset import BaseDataset

from spairkit.errors import ConfigError, DataError
from spairkit.registry import TRANSFORMS

from .image_io import load_pair

BAD_SAMPLE_POLICIES = ('raise', 'skip')


class BadSampleWarning(UserWarning):
    """A pair was skipped because it could not be used (``on_bad_sample='skip'``)."""


def build_pipeline(pipeline: Sequence[dict | Callable]) -> list[Callable]:
    """Build transform configs with spairkit's TRANSFORMS registry.

    MMEngine's ``BaseDataset`` would build them with its root registry, which
    only finds spairkit transforms when the default scope happens to be
    ``spairkit``; building here makes a dataset work the same in a runner, in a
    script and in a test.
    """
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]


def check_policy(on_bad_sample: str) -> str:
    if on_bad_sample not in BAD_SAMPLE_POLICIES:
        raise ConfigError(
            f'on_bad_sample must be one of {BAD_SAMPLE_POLICIES}, got {on_bad_sample!r}')
    return on_bad_sample


class PairedImageDataset(BaseDataset):
    """Degraded/clean image pairs found on disk; subclasses implement :meth:`scan_pairs`.

    Args:
        data_root: the dataset's root folder.
        task: task name stored in every sample (per-task metrics, multi-task
            sampling).
        pipeline: transforms (configs or callables), normally
            ``LoadPairFromFile`` first.
        check_files: decode and check every pair at build time (see module doc).
        on_bad_sample: ``'raise'`` or ``'skip'`` (see module doc).
        test_mode, serialize_data, lazy_init, max_refetch, indices: as in
            :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 task: str = '',
                 pipeline: Sequence[dict | Callable] = (),
                 check_files: bool = False,
                 on_bad_sample: str = 'raise',
                 test_mode: bool = False,
                 serialize_data: bool = True,
                 lazy_init: bool = False,
                 max_refetch: int = 1000,
                 indices: int | Sequence[int] | None = None):
        self.task = task
        self.check_files = check_files
        self.on_bad_sample = check_policy(on_bad_sample)
        self.skipped: list[tuple[str, str]] = []
        self.num_skipped_at_load = 0
        self._warned_files: set[str] = set()
        super().__init__(
            ann_file='', metainfo=None, data_root=data_root, data_prefix={},
            filter_cfg=None, indices=indices, serialize_data=serialize_data,
            pipeline=build_pipeline(pipeline), test_mode=test_mode,
            lazy_init=lazy_init, max_refetch=max_refetch)

    # -- what subclasses provide -------------------------------------------------
    def scan_pairs(self) -> list[dict]:
        """One dict per sample with ``img_path``, ``gt_path`` and optionally ``mask_path``."""
        raise NotImplementedError(f'{type(self).__name__} must implement scan_pairs()')

    # -- mmengine hooks ------------------------------------------------------------
    def load_data_list(self) -> list[dict]:
        pairs = self.scan_pairs()
        if not pairs:
            raise DataError(f'{type(self).__name__} found no image pairs under '
                            f'{self.data_root or "."}')
        for pair in pairs:
            pair['task'] = self.task
        if self.check_files:
            pairs = self._checked(pairs)
        return pairs

    def prepare_data(self, idx: int):
        try:
            return super().prepare_data(idx)
        except DataError as exc:
            if self.on_bad_sample != 'skip' or self.test_mode:
                raise
            path = self.get_data_info(idx).get('img_path', f'sample {idx}')
            self.num_skipped_at_load += 1
            self._warn_once(path, str(exc))
            return None  # BaseDataset.__getitem__ then serves another sample

    # -- helpers -------------------------------------------------------------------
    def min_input_size(self) -> tuple[int, int] | None:
        """The largest ``(H, W)`` any pipeline transform requires, or ``None``.

        Transforms that need a minimum size (a crop that does not pad) expose
        ``min_input_size``; asking them keeps the build-time check in step with
        the pipeline without repeating the crop size in the dataset config.
        """
        sizes = [t.min_input_size for t in self.pipeline.transforms
                 if getattr(t, 'min_input_size', None) is not None]
        if not sizes:
            return None
        return max(s[0] for s in sizes), max(s[1] for s in sizes)

    def _checked(self, pairs: list[dict]) -> list[dict]:
        min_size = self.min_input_size()
        kept = []
        for pair in pairs:
            try:
                img, _, _ = load_pair(pair['img_path'], pair['gt_path'], pair.get('mask_path'))
                if min_size is not None and (img.shape[0] < min_size[0]
                                             or img.shape[1] < min_size[1]):
                    raise DataError(
                        f'image {pair["img_path"]} is {img.shape[1]}x{img.shape[0]}, smaller '
                        f'than the crop {min_size[1]}x{min_size[0]} (WxH); remove it, '
                        'lower the crop size or let the crop pad')
            except DataError as exc:
                if self.on_bad_sample == 'raise':
                    raise
                self.skipped.append((pair['img_path'], str(exc)))
                self._warn_once(pair['img_path'], str(exc))
                continue
            kept.append(pair)
        if not kept:
            raise DataError(f'{type(self).__name__}: every pair under '
                            f'{self.data_root or "."} was bad ({len(pairs)} skipped)')
        return kept

    def _warn_once(self, path: str, reason: str) -> None:
        if path in self._warned_files:
            return
        self._warned_files.add(path)
        warnings.warn(f'skipping bad sample ({self.task or type(self).__name__}): {reason}',
                      BadSampleWarning, stacklevel=3)
