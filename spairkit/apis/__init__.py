"""spairkit's Python API: restore images with a trained SPAIR (see docs/restore.md)."""
from .image_files import read_image_unchanged
from .inference import RestorationResult, init_restorer, restore_image
from .restore_files import RestoreFailure, RestoreJob, plan_jobs, restore_files

__all__ = [
    'RestorationResult', 'RestoreFailure', 'RestoreJob', 'init_restorer', 'plan_jobs',
    'read_image_unchanged', 'restore_files', 'restore_image',
]
