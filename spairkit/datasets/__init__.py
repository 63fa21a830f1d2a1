"""Paired datasets, transforms, samplers and the collate function.

The location package of the DATASETS and FUNCTIONS registries: importing it
imports every sub-module that registers something.
"""
from . import collate, samplers, transforms  # noqa: F401  (registration)
from .base import BadSampleWarning, PairedImageDataset, build_pipeline
from .collate import restoration_collate
from .image_io import IMAGE_EXTENSIONS, load_pair, read_image, read_mask
from .pair_list import PairListDataset
from .paired_folder import PairedFolderDataset
from .pairing import FilenameTemplate, pair_by_template, read_pair_list
from .samplers import MultiTaskRatioSampler
from .synthesized import (
    SKIMAGE_HELDOUT_PHOTOS,
    SKIMAGE_TRAIN_PHOTOS,
    SynthesizedPairDataset,
    load_skimage_photo,
)

__all__ = [
    'BadSampleWarning', 'PairedImageDataset', 'build_pipeline', 'restoration_collate',
    'IMAGE_EXTENSIONS', 'load_pair', 'read_image', 'read_mask', 'PairListDataset',
    'PairedFolderDataset', 'FilenameTemplate', 'pair_by_template', 'read_pair_list',
    'MultiTaskRatioSampler', 'SKIMAGE_HELDOUT_PHOTOS', 'SKIMAGE_TRAIN_PHOTOS',
    'SynthesizedPairDataset', 'load_skimage_photo',
]
