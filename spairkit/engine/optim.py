"""Mixed precision on the CPU.

MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU. On the CPU,
bfloat16 autocast needs no loss scaling (it has float32's exponent range), so a
plain ``OptimWrapper`` whose forward runs under ``torch.autocast('cpu')`` is
enough. ``spairkit train --amp`` picks this wrapper on CPU and MMEngine's
``AmpOptimWrapper`` (fp16 with a grad scaler, or bf16) on CUDA.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from spairkit.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that runs the forward pass under CPU bf16 autocast."""

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"CPUAutocastOptimWrapper: dtype must be 'bfloat16' or 'float16', "
                             f'got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
