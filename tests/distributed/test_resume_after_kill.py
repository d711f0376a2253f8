"""A run SIGKILLed in the middle of an epoch resumes with ``--resume auto``
and, with --deterministic, a seed and per-sample seeding, ends with the
weights of an uninterrupted run."""
from .helpers import max_abs_diff, train, weights, write_config

ARGS = ['--seed', '0', '--deterministic', '--cfg-options',
        'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2']


def test_killed_run_resumes_to_the_same_weights(tmp_path, tiny_demo):
    plain = write_config(tmp_path / 'plain.py', tiny_demo,
                         sample_seeding=True)
    full = tmp_path / 'full'
    train(plain, full, *ARGS)

    # 4 iterations per epoch: killed after the 2nd iteration of epoch 2
    killer = write_config(tmp_path / 'killer.py', tiny_demo,
                          hooks=["dict(type='KillAtIterHook', at=6)"],
                          sample_seeding=True)
    work = tmp_path / 'killed'
    killed = train(killer, work, *ARGS, check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (work / 'epoch_1.pth').is_file()
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')

    resumed = train(plain, work, *ARGS[:-3], '--resume', 'auto',
                    *ARGS[-3:])
    assert 'resumed epoch: 1, iter: 4' in resumed.stdout + resumed.stderr
    gap = max_abs_diff(weights(full / 'epoch_2.pth'),
                       weights(work / 'epoch_2.pth'))
    assert gap == 0, gap
