"""Repeated sampling: decode a clip once, augment it several times."""
import copy
from typing import List, Optional, Union

from mmengine.dataset import BaseDataset

from mmvmae.registry import DATASETS


@DATASETS.register_module()
class RepeatedSamplingDataset:
    """Wrap a video dataset so each item is ``num_repeats`` augmented copies.

    The wrapped dataset's pipeline runs once up to and including the decode
    step (``split_after``); the remaining steps (crop, resize, masking,
    formatting) run once per copy on its own copy of the frames, so every
    copy has its own crop and mask. Items are lists; collate them with
    ``collate_fn=dict(type='repeat_pseudo_collate')`` (mmaction2), which
    flattens a batch of ``B`` items into ``B * num_repeats`` samples.

    Args:
        dataset: the wrapped dataset or its config (any mmengine
            ``BaseDataset`` with a ``Compose`` pipeline, e.g.
            ``VideoListDataset``).
        num_repeats: copies per decoded clip (VideoMAE V2: 4). Defaults to 4.
        split_after: type name of the last shared transform. Defaults to
            the first transform whose name ends with ``'Decode'``.
        max_refetch: tries with another random video when a pipeline step
            returns None (as mmengine's ``BaseDataset``). Defaults to 1000.
    """

    def __init__(self,
                 dataset: Union[BaseDataset, dict],
                 num_repeats: int = 4,
                 split_after: Optional[str] = None,
                 max_refetch: int = 1000) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if not isinstance(num_repeats, int) or num_repeats < 1:
            raise ValueError(
                f'num_repeats must be a positive int, got {num_repeats!r}')
        self.dataset = dataset
        self.num_repeats = num_repeats
        self.max_refetch = max_refetch
        transforms = list(dataset.pipeline.transforms)
        names = [type(transform).__name__ for transform in transforms]
        if split_after is None:
            decoders = [n for n in names if n.endswith('Decode')]
            if not decoders:
                raise ValueError('RepeatedSamplingDataset: no decode step '
                                 f'(a name ending in "Decode") in {names}; '
                                 'set split_after')
            split_after = decoders[0]
        if split_after not in names:
            raise ValueError(f'split_after={split_after!r} is not in the '
                             f'pipeline {names}')
        split = names.index(split_after) + 1
        self.shared_transforms = transforms[:split]
        self.copy_transforms = transforms[split:]

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    @staticmethod
    def _run(transforms: list, results: Optional[dict]) -> Optional[dict]:
        for transform in transforms:
            if results is None:
                return None
            results = transform(results)
        return results

    def prepare_data(self, idx: int) -> Optional[List[dict]]:
        """Return ``num_repeats`` pipeline outputs of one decoded clip."""
        shared = self._run(self.shared_transforms, self.get_data_info(idx))
        if shared is None:
            return None
        copies = []
        for repeat in range(self.num_repeats):
            # Transforms may edit frames in place (crops are views): copy all
            # but the last time.
            results = shared if repeat == self.num_repeats - 1 else \
                copy.deepcopy(shared)
            results = self._run(self.copy_transforms, results)
            if results is None:
                return None
            copies.append(results)
        return copies

    def __getitem__(self, idx: int) -> List[dict]:
        self.dataset.full_init()  # no-op once done
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = self.dataset._rand_another()
        raise RuntimeError(f'Cannot find a valid video after '
                           f'{self.max_refetch} tries; check the pipeline')
