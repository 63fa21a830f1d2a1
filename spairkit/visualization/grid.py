"""Side-by-side comparison images: input | predicted mask | output | target.

Used by the training report hook, ``spairkit test --save-images`` readers and the demo's
``comparison.png``. Everything is drawn with OpenCV on ``uint8`` RGB arrays so a grid
can go to disk or to any MMEngine visualisation backend unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

DEFAULT_LABELS = ('input', 'predicted mask', 'output', 'target')

#: Panels narrower than this are enlarged (nearest neighbour, integer factor) so the
#: column labels stay readable on tiny images.
MIN_PANEL_WIDTH = 128
LABEL_HEIGHT = 20
GAP = 4


def to_display_rgb(image: np.ndarray) -> np.ndarray:
    """An image or mask as ``HxWx3`` ``uint8`` RGB for display.

    Accepts ``HxW``/``HxWx1`` (gray or mask), ``HxWx3`` RGB and ``HxWx4`` RGBA (alpha
    is dropped: a grid compares colour), as ``uint8``, ``uint16`` or float in [0, 1].
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f'expected an HxW, HxWx1, HxWx3 or HxWx4 image, got {image.shape}')
    if image.dtype == np.uint8:
        out = image
    elif image.dtype == np.uint16:
        out = np.rint(image.astype(np.float64) / 257.0).astype(np.uint8)
    elif image.dtype.kind == 'f':
        out = np.rint(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise ValueError(f'unsupported image dtype {image.dtype}')
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out)


def _enlarge(panel: np.ndarray, min_width: int) -> np.ndarray:
    factor = max(1, -(-min_width // panel.shape[1]))
    if factor == 1:
        return panel
    return cv2.resize(panel, (panel.shape[1] * factor, panel.shape[0] * factor),
                      interpolation=cv2.INTER_NEAREST)


def _label_bar(text: str, width: int) -> np.ndarray:
    """A black bar with ``text`` in white, shrunk until it fits ``width``."""
    bar = np.zeros((LABEL_HEIGHT, width, 3), np.uint8)
    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    if tw > width - 4:
        scale *= (width - 4) / tw
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    org = (max(2, (width - tw) // 2), (LABEL_HEIGHT + th) // 2)
    cv2.putText(bar, text, org, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return bar


def make_comparison_grid(input: np.ndarray, mask: np.ndarray, output: np.ndarray,
                         target: np.ndarray | None = None,
                         labels: Sequence[str] = DEFAULT_LABELS) -> np.ndarray:
    """One labelled row ``input | predicted mask | output | target`` as ``uint8`` RGB.

    ``mask`` is a probability (or binary) map in [0, 1] (``HxW``), shown as gray.
    Without ``target`` (e.g. a real photo with no clean version) its column is left out.
    All panels must share height and width.
    """
    panels = [input, mask, output] + ([] if target is None else [target])
    if len(labels) < len(panels):
        raise ValueError(f'need {len(panels)} labels, got {len(labels)}')
    shown = [to_display_rgb(p) for p in panels]
    sizes = {p.shape[:2] for p in shown}
    if len(sizes) != 1:
        raise ValueError(f'all panels must share a size, got {sorted(sizes)}')
    columns = []
    for panel, label in zip(shown, labels):
        panel = _enlarge(panel, MIN_PANEL_WIDTH)
        columns.append(np.concatenate([_label_bar(str(label), panel.shape[1]), panel], axis=0))
    height = columns[0].shape[0]
    gap = np.full((height, GAP, 3), 255, np.uint8)
    row = [columns[0]]
    for column in columns[1:]:
        row += [gap, column]
    return np.ascontiguousarray(np.concatenate(row, axis=1))


def stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Stack grids of possibly different widths vertically (white padding and gaps)."""
    if not rows:
        raise ValueError('stack_rows needs at least one row')
    width = max(r.shape[1] for r in rows)
    padded = []
    for i, row in enumerate(rows):
        if i:
            padded.append(np.full((GAP, width, 3), 255, np.uint8))
        pad = width - row.shape[1]
        padded.append(np.pad(row, ((0, 0), (0, pad), (0, 0)), constant_values=255))
    return np.ascontiguousarray(np.concatenate(padded, axis=0))
