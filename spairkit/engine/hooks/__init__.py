"""spairkit's MMEngine hooks (lazy location of the HOOKS registry)."""
from .plain_checkpoint_hook import PlainCheckpointHook

__all__ = ['PlainCheckpointHook']
