"""spairkit's MMEngine hooks (lazy location of the HOOKS registry)."""
from .nan_guard_hook import NanGuardHook, TrainingDivergedError
from .plain_checkpoint_hook import PlainCheckpointHook

__all__ = ['NanGuardHook', 'PlainCheckpointHook', 'TrainingDivergedError']
