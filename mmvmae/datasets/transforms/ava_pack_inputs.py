"""Pack AVA samples, keeping the proposals' detection scores."""
from typing import Dict

import numpy as np
from mmaction.datasets.transforms import PackActionInputs
from mmcv.transforms import to_tensor
from mmengine.structures import InstanceData

from mmvmae.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackAVAInputs(PackActionInputs):
    """:class:`PackActionInputs` plus ``proposals.scores``.

    mmaction2 packs ``gt_bboxes``/``gt_labels`` as ``gt_instances`` and the
    proposal boxes as ``proposals.bboxes`` but drops the person detector's
    scores (``results['scores']``), which the detector multiplies into the
    action scores at test time. Box transforms (rescale, crop, flip) keep
    the proposals in order, so the scores stay aligned. mmaction2 packs the
    proposals only next to ground-truth boxes; here they are packed without
    them too (keyframes without annotations, at test time).
    """

    def transform(self, results: Dict) -> Dict:
        packed = super().transform(results)
        proposals = results.get('proposals')
        if proposals is None:
            return packed
        sample = packed['data_samples']
        if 'proposals' not in sample:
            sample.proposals = InstanceData(bboxes=to_tensor(proposals))
        scores = results.get('scores')
        if scores is not None:
            if len(scores) != len(proposals):
                raise ValueError(f'PackAVAInputs: {len(scores)} scores for '
                                 f'{len(proposals)} proposals')
            sample.proposals.scores = to_tensor(
                np.asarray(scores, dtype=np.float32))
        return packed
