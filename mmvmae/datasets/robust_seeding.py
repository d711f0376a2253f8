"""Per-sample seeding: augmentations that depend on (seed, epoch, index) only.

mmengine seeds each dataloader worker with ``seed + rank + worker id``, so the
random crops and masks a sample gets depend on how samples are spread over
ranks and workers, repeat every epoch (non-persistent workers are re-seeded
identically), and are not restored on resume (numpy/python RNG states are not
in mmengine checkpoints). With :class:`SampleSeededSampler` and
:class:`SampleSeededDataset`, every sample draws its randomness from a
generator seeded with ``(seed, epoch, index)``: the same sample in the same
epoch gets the same crop and mask on 1 or 8 processes, with any number of
workers, and after a resume. Turn it on with ``sample_seeding = True`` in a
config (``tools/train.py``, see :func:`enable_sample_seeding`).
"""
import random
from typing import Iterator, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.dataset import DefaultSampler

from mmvmae.registry import DATA_SAMPLERS, DATASETS

SampleKey = Tuple[int, int, int]  # (seed, epoch, index)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed that depends on ``(seed, epoch, index)`` only."""
    sequence = np.random.SeedSequence([seed % 2**32, epoch, index])
    return int(sequence.generate_state(1)[0])


@DATA_SAMPLERS.register_module()
class SampleSeededSampler(DefaultSampler):
    """:class:`DefaultSampler` that yields ``(seed, epoch, index)`` keys.

    The order and the split over ranks are those of ``DefaultSampler``; pair
    it with :class:`SampleSeededDataset`, which reads the keys.
    """

    def __iter__(self) -> Iterator[SampleKey]:
        for index in super().__iter__():
            yield (self.seed, self.epoch, int(index))


@DATASETS.register_module()
class SampleSeededDataset:
    """Run each ``dataset[index]`` under RNGs seeded from its sample key.

    ``random``, ``numpy.random`` and ``torch`` are seeded with
    :func:`sample_seed` before the wrapped dataset's ``__getitem__`` (so its
    pipeline and its refetch of another sample are reproducible) and
    restored afterwards (so the caller's random streams are untouched).

    Args:
        dataset: the wrapped dataset or its config.
    """

    def __init__(self, dataset: Union[dict, object]) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str):
        # metainfo, full_init, get_data_info, pipeline ... of the wrapped set
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, key: SampleKey):
        if not (isinstance(key, tuple) and len(key) == 3):
            raise TypeError(
                'SampleSeededDataset takes (seed, epoch, index) keys from '
                "sampler=dict(type='SampleSeededSampler'), got "
                f'{key!r}; set the sampler or drop the wrapper')
        seed, epoch, index = key
        states = (random.getstate(), np.random.get_state(),
                  torch.get_rng_state())
        value = sample_seed(seed, epoch, index)
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)
        try:
            return self.dataset[index]
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])


def enable_sample_seeding(dataloader: Optional[dict]) -> Optional[dict]:
    """Switch a dataloader config to per-sample seeding, in place.

    The sampler type becomes ``SampleSeededSampler`` (only
    ``DefaultSampler`` can be converted) and the dataset is wrapped in
    ``SampleSeededDataset``. Returns the config; None stays None.
    """
    if dataloader is None:
        return None
    sampler = dataloader.get('sampler') or {}
    if sampler.get('type', 'DefaultSampler') not in (
            'DefaultSampler', 'SampleSeededSampler'):
        raise ValueError(
            "sample_seeding=True needs train_dataloader.sampler.type "
            "'DefaultSampler' (or 'SampleSeededSampler'), got "
            f"{sampler.get('type')!r}")
    dataloader['sampler'] = ConfigDict(
        {**sampler, 'type': 'SampleSeededSampler'})
    dataset = dataloader['dataset']
    if dataset.get('type') != 'SampleSeededDataset':
        dataloader['dataset'] = ConfigDict(
            type='SampleSeededDataset', dataset=dataset)
    return dataloader
