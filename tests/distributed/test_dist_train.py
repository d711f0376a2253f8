"""tools/dist_train.sh on 2 CPU processes (gloo) against a 1-process run
with the same global batch: with per-sample seeding both see the same crops
and masks, so they must end with the same weights."""
from .helpers import max_abs_diff, train, weights, write_config

DUMP = "dict(type='DumpRankWeightsHook')"


def test_two_processes_match_one_process(tmp_path, tiny_demo):
    config = write_config(tmp_path / 'cfg.py', tiny_demo, hooks=[DUMP],
                          sample_seeding=True)
    epochs = ['--seed', '0', '--cfg-options', 'train_cfg.max_epochs=2']

    two = tmp_path / 'two'
    log = train(config, two, *epochs, 'train_dataloader.batch_size=2',
                nproc=2)
    log = log.stdout + log.stderr
    assert 'world size: 2, launcher: pytorch' in log
    assert 'Epoch(train) [2][2/2]' in log  # 8 videos / (2 ranks x 2)

    one = tmp_path / 'one'
    train(config, one, *epochs, 'train_dataloader.batch_size=4')

    rank0, rank1 = weights(two / 'rank0.pth'), weights(two / 'rank1.pth')
    assert max_abs_diff(rank0, rank1) == 0  # DDP keeps ranks in lockstep
    single = weights(one / 'rank0.pth')
    gap = max_abs_diff(single, weights(two / 'epoch_2.pth'))
    assert gap < 1e-5, gap  # same global batch, same result
    # ... and the runs did train (the weights moved from the shared init)
    assert max_abs_diff(rank0, weights(one / 'epoch_1.pth')) > 1e-4
