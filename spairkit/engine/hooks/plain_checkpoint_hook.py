"""Make every saved checkpoint loadable with ``torch.load(weights_only=True)``."""
from __future__ import annotations

from mmengine.hooks import Hook

from spairkit.checkpoint import to_plain
from spairkit.registry import HOOKS


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Converts MMEngine's ``HistoryBuffer``/numpy values to plain values on save.

    :class:`spairkit.engine.runner.SpairkitRunner` always registers it (lowest
    priority, so it sees what other hooks added); the inverse conversion happens
    in :func:`spairkit.checkpoint.load_checkpoint_file`.
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        plain = to_plain(checkpoint)
        checkpoint.clear()
        checkpoint.update(plain)
