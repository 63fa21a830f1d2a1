"""Restore an image from Python with spairkit's API.

Usage::

    python examples/python_api/restore_example.py CONFIG CHECKPOINT [--image IN] [--out DIR]

e.g. after ``spairkit demo --work-dir W``::

    python examples/python_api/restore_example.py W/model.py W/model.pth --image rainy.png

Without CONFIG/CHECKPOINT (``--untrained``) it builds the small packaged SPAIR with
random weights and saves them to a temporary checkpoint, so the example runs anywhere;
the output is then not a meaningful restoration, only a demonstration of the calls.
Without ``--image`` it uses a photograph shipped with scikit-image.

It writes ``restored.png``, ``mask.png`` and ``comparison.png`` (input | predicted mask
| output) to ``--out`` and prints their paths.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from spairkit.apis import init_restorer, read_image_unchanged, restore_image
from spairkit.visualization import make_comparison_grid, mask_to_uint8, write_image_atomic

PACKAGED_CONFIG = 'spairkit::spair/spair.py'


def random_checkpoint(config: str, folder: Path) -> Path:
    """Save the config's restorer with random weights as a plain checkpoint."""
    from mmengine.registry import DefaultScope

    from spairkit.config import load_config
    from spairkit.registry import MODELS

    model_cfg = load_config(config).model.to_dict()
    model_cfg['netl_checkpoint'] = None  # no trained Net_L needed for random weights
    with DefaultScope.overwrite_default_scope('spairkit'):
        model = MODELS.build(model_cfg)
    path = folder / 'random_spair.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description='Restore one image with the Python API.')
    parser.add_argument('config', nargs='?', default=None)
    parser.add_argument('checkpoint', nargs='?', default=None)
    parser.add_argument('--untrained', action='store_true',
                        help='use the packaged SPAIR config with random weights')
    parser.add_argument('--image', default=None, help='image to restore (default: a '
                                                      'scikit-image photograph)')
    parser.add_argument('--out', default='restore_example_out')
    parser.add_argument('--tile', type=int, default=None, help='restore in NxN tiles')
    parser.add_argument('--tile-overlap', type=int, default=32)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        if args.untrained:
            config = PACKAGED_CONFIG
            checkpoint = random_checkpoint(config, Path(tmp))
        elif args.config and args.checkpoint:
            config, checkpoint = args.config, args.checkpoint
        else:
            parser.error('give CONFIG and CHECKPOINT, or --untrained')

        # 1. Build the model once; it can restore any number of images.
        model = init_restorer(config, checkpoint, device='cpu')

    # 2. Numpy RGB in (uint8, uint16 or float in [0, 1]; gray and RGBA work too).
    if args.image:
        image = read_image_unchanged(args.image)  # RGB(A) order, depth kept
    else:
        from skimage import data
        image = data.astronaut()[::4, ::4]  # 128x128 RGB uint8
    result = restore_image(model, image, tile=args.tile, tile_overlap=args.tile_overlap)

    # 3. Same shape and dtype out, plus the mask Net_L predicted (HxW float32 in [0, 1]).
    assert result.restored.shape == image.shape and result.restored.dtype == image.dtype
    out = Path(args.out)
    paths = [out / 'restored.png', out / 'mask.png', out / 'comparison.png']
    write_image_atomic(paths[0], result.restored)
    write_image_atomic(paths[1], mask_to_uint8(result.mask))
    write_image_atomic(paths[2], make_comparison_grid(image, result.mask, result.restored))
    degraded = float(np.mean(result.mask > 0.5))
    print(f'{degraded:.1%} of the pixels predicted degraded')
    for path in paths:
        print(path)
    return paths


if __name__ == '__main__':
    cv2.setNumThreads(1)
    main()
