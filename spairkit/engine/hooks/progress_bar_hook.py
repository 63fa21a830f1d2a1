"""tqdm progress bars for training, validation and testing (rank 0 only)."""
from __future__ import annotations

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from tqdm import tqdm

from spairkit.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Shows iterations done / to do and the current loss on stderr.

    MMEngine's logger prints one line per ``interval`` iterations; a bar is what
    a person watching ``spairkit demo`` or a short training wants instead.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, desc: str = 'train', leave: bool = True):
        self.desc = desc
        self.leave = leave
        self._bars: dict[str, tqdm] = {}

    def _open(self, mode: str, total: int, initial: int = 0, desc: str | None = None) -> None:
        if is_main_process():
            self._close(mode)
            self._bars[mode] = tqdm(total=total, initial=initial, desc=desc or mode,
                                    leave=self.leave, dynamic_ncols=True)

    def _step(self, mode: str, postfix: dict | None = None) -> None:
        bar = self._bars.get(mode)
        if bar is not None:
            bar.update(1)
            if postfix:
                bar.set_postfix(postfix, refresh=False)

    def _close(self, mode: str) -> None:
        bar = self._bars.pop(mode, None)
        if bar is not None:
            bar.close()

    def before_train(self, runner) -> None:
        self._open('train', runner.max_iters, initial=runner.iter, desc=self.desc)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        self._step('train', {'loss': f'{float(loss):.4f}'} if loss is not None else None)

    def after_train(self, runner) -> None:
        self._close('train')

    def before_val_epoch(self, runner) -> None:
        self._open('val', len(runner.val_dataloader), desc=f'{self.desc}: validate')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step('val')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._close('val')

    def before_test_epoch(self, runner) -> None:
        self._open('test', len(runner.test_dataloader), desc=f'{self.desc}: evaluate')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step('test')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close('test')
