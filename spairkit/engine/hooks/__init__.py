"""spairkit's MMEngine hooks (lazy location of the HOOKS registry)."""
from .nan_guard_hook import NanGuardHook, TrainingDivergedError
from .plain_checkpoint_hook import PlainCheckpointHook
from .progress_bar_hook import ProgressBarHook

__all__ = ['NanGuardHook', 'PlainCheckpointHook', 'ProgressBarHook', 'TrainingDivergedError']
