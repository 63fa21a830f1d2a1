"""``RestorationMetric``: protocol PSNR/SSIM (+ region-aware) for MMEngine evaluators.

Consumes the model's predict dicts (``'pred'``, ``'gt'``, ``'input'``, ``'mask'``,
``'metainfo'``; docs/architecture.md, "Model outputs"), quantises them like saved
PNGs (:mod:`.sample_conversion`) and scores each image with a named protocol
(:mod:`.protocols`). Reported keys (averaged over images, see
:func:`~.protocols.aggregate_scores`):

* the protocol's scores, e.g. ``PSNR``, ``SSIM`` (``Lab_*`` for ``istd_lab``);
* ``input_PSNR``, ... : the same for the degraded input (``evaluate_input=True``),
  i.e. the baseline the restoration should beat;
* with ``region_aware=True``: ``PSNR_degraded``, ``PSNR_clean``, ``SSIM_degraded``,
  ``SSIM_clean``, their ``input_`` twins and ``degraded_fraction``. Regions come from
  the sample's ``'mask'`` or, when it has none, from the mask rule
  (:mod:`spairkit.mask_rule`) of the sample's task (``metainfo['task']``), or the
  ``mask_rule`` given here: the regions reported are the task's own.

Joint multi-task evaluation: ``protocols=dict(rain_streak='rain13k_y', ...)`` picks a
protocol per ``metainfo['task']`` (``protocol`` is the default for other tasks);
``per_task=True`` reports every key per task as ``<task>/<key>``; ``task='raindrop'``
evaluates only that task's images.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

from mmengine.evaluator import BaseMetric

from spairkit.errors import ConfigError, DataError
from spairkit.mask_rule import check_mask_rule_spec, rule_for
from spairkit.registry import METRICS

from .protocols import Protocol, aggregate_scores, get_protocol
from .sample_conversion import binary_mask, peak_of, quantise, sample_name

ProtocolSpec = Union[str, Protocol, Mapping[str, Any]]


def metric_mask_rule(mask_rule, mask_threshold, owner: str):
    """A metric's ``mask_rule``, accepting the deprecated ``mask_threshold`` shorthand."""
    if mask_threshold is not None:
        if mask_rule is not None:
            raise ConfigError(f'{owner}: give mask_rule only (mask_threshold is its '
                              'deprecated max-channel shorthand)')
        if isinstance(mask_threshold, Mapping):
            mask_rule = {t: dict(threshold=v, on='max') for t, v in mask_threshold.items()}
        else:
            mask_rule = dict(threshold=mask_threshold, on='max')
    return check_mask_rule_spec(mask_rule, f'{owner}.mask_rule')


@METRICS.register_module()
class RestorationMetric(BaseMetric):
    """PSNR/SSIM (or the protocol's scores) of restored images, optionally per region.

    Args:
        protocol: default protocol: a name from ``PROTOCOLS``, a :class:`Protocol`
            or a dict of its fields.
        protocols: optional ``{task: protocol}`` overriding ``protocol`` per task.
        region_aware: also report degraded/clean-region PSNR/SSIM.
        mask_rule: the rule that derives the region mask from ``|input - gt|`` when a
            sample has no ``'mask'``: ``None`` (default) = the rule of the sample's
            task, ``dict(threshold=..., on='max'|'y')`` or ``{task: dict(...)}``.
        mask_threshold: deprecated shorthand for ``mask_rule=dict(threshold=t,
            on='max')`` (or ``{task: t}``).
        per_task: report ``<task>/<key>`` for every task instead of one average.
        task: evaluate only the samples of this task.
        evaluate_input: also score the degraded input (``input_*`` keys).
        collect_device, prefix, collect_dir: as MMEngine's ``BaseMetric``.
    """

    default_prefix = ''  # plain keys ('PSNR'); '' also avoids MMEngine's unset-prefix warning

    def __init__(self, protocol: ProtocolSpec = 'rain13k_y',
                 protocols: Mapping[str, ProtocolSpec] | None = None,
                 region_aware: bool = False,
                 mask_rule: Mapping[str, Any] | None = None,
                 mask_threshold: float | Mapping[str, float] | None = None,
                 per_task: bool = False, task: str | None = None,
                 evaluate_input: bool = True, collect_device: str = 'cpu',
                 prefix: str | None = None, collect_dir: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.protocol = get_protocol(protocol)
        self.protocols = {t: get_protocol(p) for t, p in (protocols or {}).items()}
        self.region_aware = bool(region_aware)
        self.mask_rule = metric_mask_rule(mask_rule, mask_threshold, 'RestorationMetric')
        self.per_task = bool(per_task)
        self.task = task
        self.evaluate_input = bool(evaluate_input)
        if self.region_aware:
            for p in (self.protocol, *self.protocols.values()):
                if not p.supports_regions:
                    raise ConfigError(
                        f'RestorationMetric(region_aware=True): protocol {p.name!r} '
                        f'({p.kind}) has no degraded/clean region metrics')

    def protocol_for(self, task: str | None) -> Protocol:
        """The protocol that scores images of ``task``."""
        return self.protocols.get(task, self.protocol) if task is not None else self.protocol

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """Score every sample of a batch and keep the per-image scores."""
        for sample in data_samples:
            task = (sample.get('metainfo') or {}).get('task')
            if self.task is not None and task != self.task:
                continue
            if self.per_task and task is None:
                raise DataError(f"{sample_name(sample)}: per_task=True but metainfo has no "
                                "'task'")
            self.results.append({'task': task, 'scores': self.score_sample(sample, task)})

    def score_sample(self, sample: Mapping[str, Any], task: str | None) -> dict[str, float]:
        """All per-image scores of one predict dict."""
        name = sample_name(sample)
        protocol = self.protocol_for(task)
        for key in ('pred', 'gt'):
            if key not in sample:
                raise DataError(f"{name}: the model output has no {key!r}")
        peak = peak_of(sample)
        pred, gt = quantise(sample['pred'], peak), quantise(sample['gt'], peak)
        has_input = sample.get('input') is not None
        if self.evaluate_input and not has_input:
            raise DataError(f"{name}: evaluate_input=True but the model output has no 'input'")
        inp = quantise(sample['input'], peak) if has_input else None
        mask = binary_mask(sample['mask']) if sample.get('mask') is not None else None
        if protocol.needs_mask and mask is None:
            raise DataError(f"{name}: protocol {protocol.name!r} needs the sample's 'mask'")
        images = {'': pred, 'input_': inp} if self.evaluate_input else {'': pred}
        region = self.region_mask(sample, task, inp, gt, mask) if self.region_aware else None
        scores: dict[str, float] = {}
        try:
            for tag, img in images.items():
                for key, value in protocol.evaluate(img, gt, mask).items():
                    scores[tag + key] = value
                if region is not None:
                    for key, value in protocol.evaluate_regions(img, gt, region).items():
                        scores[tag + key] = value
        except (DataError, ValueError) as exc:
            raise DataError(f'{name}: {exc}') from exc
        if region is not None:
            scores['degraded_fraction'] = float(region.mean())
        return scores

    def region_mask(self, sample, task, inp, gt, mask):
        """The degraded-region mask: the sample's own, or derived from input vs gt."""
        if mask is not None:
            return mask
        if inp is None:
            raise DataError(f"{sample_name(sample)}: deriving the region mask needs 'input'")
        try:
            rule = rule_for(self.mask_rule, task, 'RestorationMetric.mask_rule')
        except DataError as exc:
            raise DataError(f'{sample_name(sample)}: region_aware=True but the sample has no '
                            f"'mask': {exc}") from None
        return rule(inp, gt)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Average the per-image scores (per task with ``per_task=True``)."""
        if not self.per_task:
            return aggregate_scores(r['scores'] for r in results)
        metrics: dict[str, float] = {}
        for task in sorted({r['task'] for r in results}):
            summary = aggregate_scores(r['scores'] for r in results if r['task'] == task)
            metrics.update({f'{task}/{k}': v for k, v in summary.items()})
        return metrics
