"""The benchmark scripts the README's Performance section runs, on tiny
settings: they run, measure every variant and write their JSON."""
import json

import pytest
import torch

from .helpers import exit_in_process, load_tool, run_tool


def test_model_benchmark_runs_every_variant(tmp_path):
    out = tmp_path / 'bench.json'
    result = run_tool(
        'analysis/benchmark.py', '--arch', 'tiny', '--size', '64',
        '--frames', '4', '--rounds', '1', '--variants',
        'plain,dual,lean,cp-full+step-in-backward,compile,eager', '--json',
        str(out), '--peak-tflops', '2', '--compile-backend', 'eager',
        cwd=tmp_path)
    assert 'time/HF' in result.stdout and 'MFU' in result.stdout
    assert 'FLOP/HF' in result.stdout
    # one round: the per-round time ratios span one value
    hf_row = next(line for line in result.stdout.splitlines()
                  if line.startswith('HF transformers'))
    assert '1.00-1.00' in hf_row.split()
    assert 'round 1/1: mmvmae plain' in result.stderr  # progress
    results = json.loads(out.read_text())['results']
    # the FLOP ratio printed next to time/HF
    hf_flops = results['HF transformers']['kernel_gflop_per_step']
    ratio = results['mmvmae dual']['kernel_gflop_per_step'] / hf_flops
    dual_row = next(line for line in result.stdout.splitlines()
                    if line.startswith('mmvmae dual'))
    assert f'{ratio:.2f}' == dual_row.split()[-3] and ratio < 1
    assert set(results) == {'mmvmae plain', 'mmvmae dual', 'mmvmae lean',
                            'mmvmae cp-full+step-in-backward',
                            'mmvmae compile', 'mmvmae eager',
                            'HF transformers'}
    plain, lean, light = (results['mmvmae plain'], results['mmvmae lean'],
                          results['mmvmae cp-full+step-in-backward'])
    assert plain['gflop_per_step'] == light['gflop_per_step'] > 0
    assert lean['gflop_per_step'] == plain['gflop_per_step']
    assert results['mmvmae compile']['gflop_per_step'] == \
        plain['gflop_per_step']
    # model FLOPs: the flash kernel's backward counts 4 products like the
    # explicit (eager) attention's, not torch's 5 (its recomputed scores)
    assert results['mmvmae eager']['gflop_per_step'] == pytest.approx(
        plain['gflop_per_step'], rel=1e-9)
    # what the flash kernels execute: the backward recomputes the scores
    assert plain['kernel_gflop_per_step'] > plain['gflop_per_step']
    assert results['mmvmae eager']['kernel_gflop_per_step'] == \
        pytest.approx(results['mmvmae eager']['gflop_per_step'], rel=1e-9)
    assert plain['mfu'] == pytest.approx(plain['gflop_per_s'] / 2000)
    assert 0 < light['activations_mib'] < lean['activations_mib'] < \
        plain['activations_mib']


def test_model_benchmark_profiles_where_the_time_goes(tmp_path):
    out = tmp_path / 'bench.json'
    result = run_tool('analysis/benchmark.py', '--arch', 'tiny', '--size',
                      '64', '--frames', '4', '--rounds', '1', '--profile',
                      '1', '--json', str(out), cwd=tmp_path)
    assert 'where the time goes' in result.stdout
    assert 'page faults/step timed' in result.stdout
    for r in json.loads(out.read_text())['results'].values():
        # page faults of the timed and of the profiled steps, counted
        assert r['faults_per_step'] >= 0 and \
            r['profiled_faults_per_step'] >= 0
        shares = r['time_shares']
        assert sum(shares.values()) == pytest.approx(1)
        # every kind of op of a training step shows up
        assert all(shares[kind] > 0 for kind in (
            'matrix products', 'attention forward', 'attention backward',
            'optimizer', 'GELU', 'LayerNorm'))


def usage_error(monkeypatch, capsys, *args) -> str:
    """What ``benchmark.py args`` prints to stderr as it stops at its
    argument check (in this process)."""
    exit_ = exit_in_process(monkeypatch, 'analysis/benchmark.py', *args)
    assert exit_.code == 2  # argparse's usage error
    return capsys.readouterr().err


def test_model_benchmark_refuses_unknown_variants(monkeypatch, capsys):
    assert 'unknown variants' in usage_error(
        monkeypatch, capsys, '--arch', 'tiny', '--variants', 'plain+fast')
    assert '--compile-backend foo: choose' in usage_error(
        monkeypatch, capsys, '--arch', 'tiny', '--variants', 'compile',
        '--compile-backend', 'foo')
    # no rounds: nothing to take a median of (was a StatisticsError after
    # the FLOP count); the data benchmark likewise
    assert '--rounds and --iters must be >= 1' in usage_error(
        monkeypatch, capsys, '--arch', 'tiny', '--rounds', '0')
    stop = exit_in_process(monkeypatch, 'analysis/benchmark_data.py',
                           '--iters', '0')
    assert stop.code == 2 and '--iters must be >= 1' in \
        capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only run')
def test_model_benchmark_says_when_there_is_no_gpu(monkeypatch, capsys):
    assert 'no CUDA device' in usage_error(monkeypatch, capsys, '--arch',
                                           'tiny', '--device', 'cuda')


def test_data_benchmark_runs(tmp_path, shared_data):
    videos = tmp_path / 'videos'
    videos.mkdir()
    for video in (shared_data / 'videos').iterdir():
        (videos / video.name).symlink_to(video)
    (videos / 'broken.mp4').write_bytes(b'not a video' * 100)
    result = run_tool('analysis/benchmark_data.py', '--videos', str(videos),
                      '--iters', '1', '--rounds', '1', '--num-samples', '1,2',
                      '--steps', '--ops', '1', cwd=tmp_path)
    out, steps, ops, in_pipeline = (
        part.splitlines() for part in result.stdout.split('\n\n'))
    assert 'round 1/1: decode-only' in result.stderr  # progress
    assert out[0].startswith('skipping broken.mp4: unreadable')
    assert out[1].startswith('3 videos (arm_wrestling.mp4, test.avi, '
                             'test.mp4)')
    assert 'freed memory kept by malloc: ' in out[1]  # --malloc keep
    assert out[2].startswith('decode-only rounds: ')
    lines = {line.split('  ')[0].strip(): line for line in out[4:]}
    assert {'decode-only', 'pretrain', 'finetune', 'finetune pil',
            'finetune bilinear', 'finetune whole', 'finetune x2',
            'pretrain x1', 'pretrain x2'} <= set(lines)
    # one round: no middle half of the rounds' ratios; x2 has its /x1
    fields = lines['finetune x2'].split()
    assert len(fields) == 6 and fields[4] == '-'
    # --steps: every step of both pipelines, once per item (1 item, 1 round)
    steps = {line.rsplit(None, 3)[0]: line.split()[-1] for line in steps[1:]}
    assert steps['pretrain: SafeVideoDecode'] == '(1)'
    assert steps['finetune: VideoRandAugment'] == '(1)'
    assert 'pretrain: TubeMasking' in steps and \
        'finetune: VideoRandomErasing' in steps
    # --ops 1: each of the 15 RandAugment ops on one clip of each video
    assert ops[0].startswith('RandAugment ops on whole clips')
    assert len(ops) == 16 and all(line.endswith(' (3)') for line in ops[1:])
    assert {line.split()[0] for line in ops[1:]} >= {'Rotate', 'ShearX',
                                                     'Equalize'}
    # ... and what each op costs the pipeline per clip: 10 draws on each
    # of the 3 clips; the ops' shares add up to at most the whole step
    assert in_pipeline[0].startswith('RandAugment ops in the fine-tuning '
                                     'pipeline') and '30 clips' in \
        in_pipeline[0]
    shares = [float(line.split('(')[1].split('%')[0])
              for line in in_pipeline[1:]]
    assert in_pipeline[1:] and 0 < sum(shares) <= 101


def test_data_benchmark_needs_a_folder_of_videos(tmp_path, monkeypatch):
    # in this process: it stops before it changes any process setting
    threads = torch.get_num_threads()
    (tmp_path / 'broken.avi').write_bytes(b'not a video')
    for folder, message in [(tmp_path / 'missing', 'no such folder'),
                            (tmp_path, 'no readable .mp4/.avi videos')]:
        assert message in str(exit_in_process(
            monkeypatch, 'analysis/benchmark_data.py', '--videos',
            str(folder)))
    assert torch.get_num_threads() == threads


def test_data_benchmark_times_ops_and_puts_them_back():
    """``timing_ops`` times every call of an op and restores the ops."""

    import numpy as np

    from mmvmae.datasets.transforms.rand_augment_cv2 import CV2_OPS
    bench = load_tool('analysis/benchmark_data.py')
    before = dict(CV2_OPS)
    clip = np.full((2, 4, 4, 3), 10, np.uint8)
    with pytest.raises(RuntimeError), bench.timing_ops({}) as sink:
        out = CV2_OPS['Invert'](clip, None, (0, 0, 0), 'bicubic')
        CV2_OPS['Invert'](out, None, (0, 0, 0), 'bicubic')
        raise RuntimeError  # restored on errors too
    assert (out == 10).all()  # inverted twice, in place: the op ran
    assert list(sink) == ['Invert'] and len(sink['Invert']) == 2
    assert CV2_OPS == before
