"""Tiny synthetic data and model configs shared by the model tests."""
from __future__ import annotations

import torch
import torch.nn.functional as F

#: A SPAIR restorer small enough for CPU tests: SFM, SC and SNL all active.
TINY_NETL = dict(type='NetL', base_channels=4, num_levels=2, growth=4, num_dense_layers=2)
TINY_NETR = dict(type='NetR', base_channels=8, num_levels=2, growth=4, num_dense_layers=2,
                 decoder_blocks=[dict(type='SparseConvBlock', growth=4, num_layers=2),
                                 dict(type='SparseNonLocal')],
                 sfm=dict(type='SFM'))


def random_mask(n: int, h: int, w: int, p: float = 0.3, seed: int = 0) -> torch.Tensor:
    """A binary (N,1,H,W) mask with both degraded and clean pixels in every image."""
    g = torch.Generator().manual_seed(seed)
    m = (torch.rand(n, 1, h, w, generator=g) < p).float()
    m[:, :, 0, 0] = 1.0
    m[:, :, -1, -1] = 0.0
    return m


def synthetic_pairs(n: int, size: int = 32, seed: int = 0):
    """Degraded/clean uint8 pairs with a known mask: bright streaks over smooth images.

    Clean images are upsampled low-resolution noise; the degradation adds +0.6 on a
    few random short horizontal/vertical streaks, which are the mask.
    """
    g = torch.Generator().manual_seed(seed)
    clean = F.interpolate(torch.rand(n, 3, 4, 4, generator=g) * 0.6 + 0.1, size=(size, size),
                          mode='bilinear', align_corners=False)
    mask = torch.zeros(n, 1, size, size)
    for i in range(n):
        for _ in range(4):
            r, c = torch.randint(0, size - 8, (2,), generator=g).tolist()
            if torch.rand((), generator=g) < 0.5:
                mask[i, :, r, c:c + 8] = 1
            else:
                mask[i, :, r:r + 8, c] = 1
    degraded = (clean + 0.6 * mask).clamp(0, 1)
    to8 = lambda t: (t * 255).round().to(torch.uint8)  # noqa: E731
    return to8(degraded), to8(clean), mask


def make_batch(degraded, clean, mask=None, indices=None) -> dict:
    """A collated batch as the dataloader yields it (docs/architecture.md)."""
    idx = range(degraded.shape[0]) if indices is None else indices
    samples = []
    for i in idx:
        s = {'gt': clean[i], 'metainfo': {'img_path': f'img{i}.png', 'max_value': 255}}
        if mask is not None:
            s['mask'] = mask[i]
        samples.append(s)
    return {'inputs': [degraded[i] for i in idx], 'data_samples': samples}
