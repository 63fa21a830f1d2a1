"""spairkit's Python API: restore images with a trained SPAIR (see docs/restore.md)."""
from .image_files import read_image_unchanged
from .inference import RestorationResult, init_restorer, restore_image
from .restore_files import (
    RestoreFailure,
    RestoreJob,
    RestorePlan,
    plan_jobs,
    plan_restore,
    restore_files,
)

__all__ = [
    'RestorationResult', 'RestoreFailure', 'RestoreJob', 'RestorePlan', 'init_restorer',
    'plan_jobs', 'plan_restore',
    'read_image_unchanged', 'restore_files', 'restore_image',
]
