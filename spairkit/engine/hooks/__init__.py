"""spairkit's MMEngine hooks (lazy location of the HOOKS registry)."""
from .checkpoint_hook import SpairkitCheckpointHook
from .nan_guard_hook import NanGuardHook, TrainingDivergedError
from .plain_checkpoint_hook import PlainCheckpointHook
from .progress_bar_hook import ProgressBarHook
from .save_images_hook import SaveImagesHook
from .visual_report_hook import VisualReportHook

__all__ = ['NanGuardHook', 'PlainCheckpointHook', 'ProgressBarHook', 'SaveImagesHook',
           'SpairkitCheckpointHook', 'TrainingDivergedError', 'VisualReportHook']
