"""Per-sample seeding: a sample's randomness depends on (seed, epoch,
index) only, not on ranks, workers or what ran before."""
import random

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from torch.utils.data import DataLoader

from mmvmae.datasets.robust_seeding import (SampleSeededDataset,
                                            SampleSeededSampler,
                                            enable_sample_seeding)


class Draws:
    """Each item: one draw from each of python, numpy and torch RNGs."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return (index, random.random(), float(np.random.rand()),
                float(torch.rand(())))


def epoch_items(world_size, num_workers, epoch=0):
    """{index: draws} over all ranks of one epoch."""
    items = {}
    for rank in range(world_size):
        sampler = SampleSeededSampler(Draws(), shuffle=True, seed=5)
        sampler.rank, sampler.world_size = rank, world_size
        sampler.num_samples = len(Draws()) // world_size
        sampler.total_size = sampler.num_samples * world_size
        sampler.set_epoch(epoch)
        loader = DataLoader(SampleSeededDataset(Draws()), sampler=sampler,
                            batch_size=2, num_workers=num_workers,
                            collate_fn=lambda batch: batch)
        for batch in loader:
            items.update({item[0]: item[1:] for item in batch})
    return items


def test_draws_do_not_depend_on_ranks_or_workers():
    single = epoch_items(1, 0)
    assert sorted(single) == list(range(8))
    assert epoch_items(2, 0) == single
    assert epoch_items(2, 2) == single  # worker processes too
    # every sample different, and different again the next epoch
    assert len({v for v in single.values()}) == 8
    next_epoch = epoch_items(1, 0, epoch=1)
    assert all(next_epoch[i] != single[i] for i in range(8))


def test_caller_random_streams_are_untouched():
    """python, numpy and torch: each stream goes on as if nothing ran."""
    def draws():
        return random.random(), np.random.rand(), float(torch.rand(()))

    for seed_all in (random.seed, np.random.seed, torch.manual_seed):
        seed_all(1)
    expected = draws()
    for seed_all in (random.seed, np.random.seed, torch.manual_seed):
        seed_all(1)
    SampleSeededDataset(Draws())[(0, 0, 3)]
    assert draws() == expected


def test_every_part_of_the_key_changes_the_draws():
    """The run's seed, the epoch and the index each matter, and not only
    through their sum."""
    data = SampleSeededDataset(Draws())
    keys = [(5, 0, 1), (6, 0, 1), (5, 1, 1), (5, 0, 2), (5, 1, 0),
            (2**32 + 6, 0, 1)]
    draws = [data[key][1:] for key in keys]
    assert len(set(draws[:5])) == 5  # (5, 1, 0) is not (5, 0, 1)
    assert draws[5] == draws[1]  # the seed counts modulo 2**32


def test_plain_index_is_refused_with_the_fix():
    with pytest.raises(TypeError, match='SampleSeededSampler'):
        SampleSeededDataset(Draws())[3]


def test_enable_sample_seeding_rewrites_a_dataloader_config():
    loader = ConfigDict(sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='VideoListDataset', ann_file='x'))
    enable_sample_seeding(loader)
    assert loader.sampler == dict(type='SampleSeededSampler', shuffle=True)
    assert loader.dataset.type == 'SampleSeededDataset'
    assert loader.dataset.dataset.ann_file == 'x'
    enable_sample_seeding(loader)  # idempotent
    assert loader.dataset.dataset.type == 'VideoListDataset'
    other = ConfigDict(sampler=dict(type='InfiniteSampler'), dataset={})
    with pytest.raises(ValueError, match='DefaultSampler'):
        enable_sample_seeding(other)
