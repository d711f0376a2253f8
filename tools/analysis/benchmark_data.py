"""Data-loading speed: clips/s of the pretraining and fine-tuning pipelines
in one worker, against the decode-only limit, and repeated sampling.

Every variant reads the same videos and (same random seed per item) the
same frames, in one process with one thread (= one dataloader worker),
alternating variant by variant in each round (each round draws new frames
and augmentations, the same for all its variants); clips/s are medians over
rounds, ratios the medians of the per-round ratios, with their middle half
(quartiles: how much the rounds disagree) and the range of decode-only rates.

- decode-only: ``decord.VideoReader`` on the file + ``get_batch`` of the
  frame indices ``SampleFrames`` draws, nothing else: the limit.
- pretrain / finetune: the ``train_pipeline`` of the K400 dataset configs
  (decode included), via ``VideoListDataset``; ``finetune pil`` /
  ``finetune bilinear``: the same with ``VideoRandAugment(backend='pil')``
  (the reference implementation) / ``interpolation='bilinear'``;
  ``finetune whole``: RandAugment on whole frames, then the crop as a step
  of its own (the config computes only what the crop keeps).
- pretrain xN: ``RepeatedSamplingDataset(num_repeats=N)``: one decode, N
  crops and masks; clips/s counts the N clips. finetune x2: the same with
  the K400 fine-tuning recipe's own ``num_repeats`` (its data loader).

glibc is told to keep freed memory for reuse (``--malloc keep``, the
default, for every variant; ``mmvmae.utils.malloc``): page faults of freshly
allocated frames otherwise cost the transforms about 1 ms a clip.

``--steps`` adds the median and mean milliseconds of each step of the
pretraining and fine-tuning pipelines (timed within the same rounds; the
decode wrapper ``SafeVideoDecode`` holds opening, frame sampling and
decoding); ``--ops N`` adds the same for each RandAugment op of the
fine-tuning config (its magnitude, OpenCV backend, whole frames, the op
always applied) on N clips of each video, then what each op costs the
fine-tuning pipeline per clip as the config runs it (ops drawn as in
training, only what the crop keeps computed) over 10 draws per clip.

Example (the numbers in docs/performance.md):
    python tools/analysis/benchmark_data.py --iters 3 --rounds 20
    python tools/analysis/benchmark_data.py --iters 3 --rounds 20 --steps \
        --ops 10
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config

import mmvmae
from mmvmae.registry import DATASETS, TRANSFORMS
from mmvmae.utils.malloc import keep_freed_memory

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VIDEOS = ROOT / '..' / 'shared' / 'data' / 'videos'
CONFIGS = ROOT / 'configs' / '_base_' / 'datasets'


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--videos', default=str(DEFAULT_VIDEOS),
                   help='folder of videos (.mp4/.avi)')
    p.add_argument('--iters', type=int, default=3,
                   help='items per variant per round')
    p.add_argument('--rounds', type=int, default=20,
                   help='more, shorter rounds average out a noisy machine')
    p.add_argument('--num-samples', default='1,2,4',
                   help='repeats for RepeatedSamplingDataset')
    p.add_argument('--steps', action='store_true',
                   help='also time each step of the pretrain and finetune '
                   'pipelines')
    p.add_argument('--ops', type=int, default=0, metavar='N',
                   help="also time each RandAugment op on N clips a video")
    p.add_argument('--malloc', default='keep', choices=('keep', 'default'),
                   help="'keep' (default) makes glibc keep freed memory for "
                   'reuse, for every variant (mmvmae.utils.malloc)')
    args = p.parse_args()
    if args.rounds < 1 or args.iters < 1 or args.ops < 0:
        p.error('--rounds and --iters must be >= 1, --ops >= 0')
    return args


def dataset_config(name: str) -> Config:
    return Config.fromfile(CONFIGS / f'{name}.py')


def find_step(steps: List[dict], name: str) -> dict:
    """The config of step ``name``, also inside wrappers (``transforms``)."""
    for step in steps:
        if step['type'] == name:
            return step
        found = find_step(step.get('transforms', []), name)
        if found:
            return found
    return {}


def with_rand_augment(steps: List[dict], **options) -> List[dict]:
    """A copy of ``steps`` with ``options`` set on ``VideoRandAugment``."""
    steps = copy.deepcopy(steps)
    find_step(steps, 'VideoRandAugment').update(options)
    return steps


def crop_after(steps: List[dict]) -> List[dict]:
    """A copy of ``steps`` with ``VideoRandAugment``'s ``crop`` as a step of
    its own after it (RandAugment on whole frames, then the crop)."""
    steps = copy.deepcopy(steps)
    for i, step in enumerate(steps):
        if step['type'] == 'VideoRandAugment' and step.get('crop'):
            steps.insert(i + 1, step.pop('crop'))
            return steps
    raise SystemExit('the fine-tuning pipeline has no VideoRandAugment with '
                     'a crop')


def dataset(ann_file: str, prefix: str, steps: List[dict], repeats=None):
    cfg = dict(type='VideoListDataset', ann_file=ann_file,
               data_prefix=dict(video=prefix), pipeline=steps)
    if repeats:
        cfg = dict(type='RepeatedSamplingDataset', num_repeats=repeats,
                   dataset=cfg)
    return DATASETS.build(cfg)


def decode_clip(file: str, sampler: Callable) -> np.ndarray:
    """decord on ``file`` + ``get_batch`` of the frames ``sampler``
    (``SampleFrames``) draws: ``(T, H, W, 3)`` uint8."""
    import decord
    reader = decord.VideoReader(file, num_threads=1)
    inds = sampler(dict(total_frames=len(reader), start_index=0))
    return reader.get_batch(inds['frame_inds']).asnumpy()


def decode_only(files: List[str], sample_cfg: dict) -> Callable[[int], int]:
    sampler = TRANSFORMS.build(sample_cfg)

    def item(i: int) -> int:
        decode_clip(files[i % len(files)], sampler)
        return 1
    return item


def from_dataset(ds, clips: int) -> Callable[[int], int]:
    def item(i: int) -> int:
        ds[i % len(ds)]
        return clips
    return item


class TimedStep:
    """A pipeline step (or any callable) that appends the milliseconds of
    each call to ``sink[name]`` (default: the step's class name)."""

    def __init__(self, step: Callable, sink: Dict[str, List[float]],
                 name: str = '') -> None:
        self.step, self.sink = step, sink
        self.name = name or type(step).__name__

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.step(*args, **kwargs)
        self.sink.setdefault(self.name, []).append(
            1000 * (time.perf_counter() - start))
        return out


def time_steps(ds) -> Dict[str, List[float]]:
    """Wrap every step of ``ds``'s pipeline in a :class:`TimedStep`; the
    returned dict fills as items are loaded."""
    sink: Dict[str, List[float]] = {}
    ds.pipeline.transforms = [TimedStep(t, sink)
                              for t in ds.pipeline.transforms]
    return sink


def decode_clips(files: List[str], sample_cfg: dict,
                 clips: int) -> List[np.ndarray]:
    """``clips`` decoded clips of each file, in turn (the frames
    ``SampleFrames`` draws after seed i for clip i)."""
    sampler = TRANSFORMS.build(sample_cfg)
    out = []
    for i in range(clips * len(files)):
        np.random.seed(i)
        out.append(decode_clip(files[i % len(files)], sampler))
    return out


def time_ops(clips: List[np.ndarray],
             augment_cfg: dict) -> Dict[str, List[float]]:
    """Milliseconds of each RandAugment op (always applied, the config's
    magnitude, OpenCV backend) on the whole ``clips``."""
    names = TRANSFORMS.build(dict(augment_cfg, crop=None)).ops
    augments = {name: TRANSFORMS.build(dict(
        augment_cfg, ops=[name], num_ops=1, prob=1., crop=None,
        backend='cv2')) for name in names}
    times: Dict[str, List[float]] = {name: [] for name in names}
    applies = {name: TimedStep(augment.apply_cv2, times, name)
               for name, augment in augments.items()}
    for i, clip in enumerate(clips):
        np.random.seed(i)
        for name, augment in augments.items():
            # the ops overwrite their input: a copy each
            applies[name](clip.copy(), augment.sample_ops())
        progress(f'ops: clip {i + 1}/{len(clips)}')
    return times


@contextlib.contextmanager
def timing_ops(sink: Dict[str, List[float]]):
    """Within the block, every call of a RandAugment op of the cv2 backend
    appends its milliseconds to ``sink[name]``."""
    from mmvmae.datasets.transforms.rand_augment_cv2 import CV2_OPS
    saved = dict(CV2_OPS)
    CV2_OPS.update({name: TimedStep(op, sink, name)
                    for name, op in saved.items()})
    try:
        yield sink
    finally:
        CV2_OPS.update(saved)


def time_ops_in_pipeline(
        clips: List[np.ndarray], augment_cfg: dict,
        draws: int = 10) -> Tuple[Dict[str, List[float]], List[float]]:
    """What each op costs ``VideoRandAugment`` as configured (crop
    included): the milliseconds of every call of each op, and those of
    every whole ``VideoRandAugment`` call, over ``draws`` draws of ops and
    crop on each of the ``clips``."""
    augment = TimedStep(TRANSFORMS.build(augment_cfg), {})
    with timing_ops({}) as times:
        for i, clip in enumerate(clips):
            for k in range(draws):
                np.random.seed(1000 * i + k)
                augment(dict(imgs=list(clip), img_shape=clip.shape[1:3],
                             original_shape=clip.shape[1:3], modality='RGB'))
            progress(f'ops in the pipeline: clip {i + 1}/{len(clips)}')
    return times, augment.sink[augment.name]


def report_ops_per_clip(times: Dict[str, List[float]],
                        whole: List[float]) -> None:
    """Each op's milliseconds per augmented clip (its share of the
    RandAugment step), calls and milliseconds per call, costliest first."""
    n, total = len(whole), sum(whole)
    print(f'\nRandAugment ops in the fine-tuning pipeline (as configured: '
          f'drawn ops, crop-aware), {n} clips: VideoRandAugment '
          f'{total / n:.2f} ms per clip; per op: ms per clip (share), '
          'calls, ms per call')
    width = max(len(name) for name in times) + 2
    for name, ms in sorted(times.items(), key=lambda item: -sum(item[1])):
        print(f'{name:<{width}}{sum(ms) / n:>7.2f} ({sum(ms) / total:>4.0%})'
              f'{len(ms):>6}{statistics.mean(ms):>9.2f}')


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def readable_videos(folder: str) -> List[str]:
    """The .mp4/.avi files in ``folder`` that decord opens; the others are
    reported and left out (every variant must read the same videos)."""
    import decord
    if not osp.isdir(folder):
        raise SystemExit(f'--videos {folder}: no such folder')
    videos = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(('.mp4', '.avi')):
            continue
        try:
            if len(decord.VideoReader(osp.join(folder, name))) > 0:
                videos.append(name)
                continue
            why = 'no frames'
        except (RuntimeError, decord.DECORDError) as e:
            why = str(e).splitlines()[0]
        print(f'skipping {name}: unreadable ({why})')
    if not videos:
        raise SystemExit(f'no readable .mp4/.avi videos in {folder}')
    return videos


def main() -> None:
    args = parse_args()
    videos = readable_videos(args.videos)  # before changing the process
    args.malloc_kept = args.malloc == 'keep' and keep_freed_memory()
    torch.set_num_threads(1)  # one worker
    cv2.setNumThreads(1)
    mmvmae.register_all_modules()
    tmp = tempfile.mkdtemp()
    ann = osp.join(tmp, 'list.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(videos) + '\n')
    fine_cfg = dataset_config('k400_finetune')
    pre = dataset_config('k400_pretrain').train_pipeline
    fine = fine_cfg.train_pipeline
    sample_cfg = find_step(pre, 'SampleFrames')
    files = [osp.join(args.videos, v) for v in videos]
    # the datasets whose steps --steps times
    timed = {'pretrain': dataset(ann, args.videos, pre),
             'finetune': dataset(ann, args.videos, fine)}
    variants: Dict[str, Callable[[int], int]] = {
        'decode-only': decode_only(files, sample_cfg),
        'pretrain': from_dataset(timed['pretrain'], 1),
        'finetune': from_dataset(timed['finetune'], 1),
        'finetune pil': from_dataset(dataset(
            ann, args.videos, with_rand_augment(fine, backend='pil')), 1),
        'finetune bilinear': from_dataset(dataset(
            ann, args.videos, with_rand_augment(
                fine, interpolation='bilinear')), 1),
        'finetune whole': from_dataset(dataset(
            ann, args.videos, crop_after(fine)), 1),
    }
    # the fine-tuning recipe's own repeated sampling (K400: 2 clips a video)
    n = fine_cfg.train_dataloader['dataset'].get('num_repeats', 1)
    if n > 1:
        variants[f'finetune x{n}'] = from_dataset(
            dataset(ann, args.videos, fine, n), n)
    for n in (int(x) for x in args.num_samples.split(',')):
        variants[f'pretrain x{n}'] = from_dataset(
            dataset(ann, args.videos, pre, n), n)
    step_times = {name: time_steps(ds) for name, ds in timed.items()} \
        if args.steps else {}
    rates: Dict[str, List[float]] = {name: [] for name in variants}
    for name, item in variants.items():  # warm-up (file cache, imports)
        np.random.seed(0)
        item(0)
    for sink in step_times.values():
        sink.clear()
    for r in range(args.rounds):
        for name, item in variants.items():
            clips, start = 0, time.perf_counter()
            for i in range(args.iters):
                # the same frames and augmentations in every variant of a
                # round, new ones in every round
                np.random.seed(r * args.iters + i)
                clips += item(i)
            rates[name].append(clips / (time.perf_counter() - start))
        progress(f'round {r + 1}/{args.rounds}: ' + ', '.join(
            f'{name} {rates[name][-1]:.1f}' for name in variants) +
            ' clips/s')
    report(args, videos, rates)
    if args.steps:
        report_ms('pipeline steps', {
            f'{name}: {step}': ms for name, sink in step_times.items()
            for step, ms in sink.items()})
    if args.ops:
        clips = decode_clips(files, find_step(fine, 'SampleFrames'),
                             args.ops)
        augment_cfg = find_step(fine, 'VideoRandAugment')
        shapes = sorted({clip.shape for clip in clips})
        report_ms('RandAugment ops on whole clips (T, H, W, C): ' +
                  ', '.join(str(shape) for shape in shapes),
                  time_ops(clips, augment_cfg))
        report_ops_per_clip(*time_ops_in_pipeline(clips, augment_cfg))


def report_ms(title: str, times: Dict[str, List[float]]) -> None:
    """Median and mean milliseconds (and the count) per entry."""
    print(f'\n{title}: ms per call, median / mean (calls)')
    width = max(len(name) for name in times) + 2
    for name, ms in times.items():
        print(f'{name:<{width}}{statistics.median(ms):>9.2f}'
              f'{statistics.mean(ms):>9.2f} ({len(ms)})')


def report(args, videos: List[str], rates: Dict[str, List[float]]) -> None:
    """Median clips/s, and the medians of the per-round ratios (a slow
    spell of the machine slows every variant of its round alike) with the
    middle half of them (how much the rounds disagree)."""
    import decord

    def ratios(name: str, ref: str) -> List[float]:
        return [a / b for a, b in zip(rates[name], rates[ref])]

    def ratio(name: str, ref: str) -> float:
        return statistics.median(ratios(name, ref))

    def middle_half(name: str) -> str:
        values = ratios(name, 'decode-only')
        if len(values) < 2:
            return '-'
        low, _, high = statistics.quantiles(values, n=4)
        return f'{low:.2f}-{high:.2f}'

    load = open('/proc/loadavg').read().split()[0]
    print(f'{len(videos)} videos ({", ".join(videos)}), {args.iters} items x '
          f'{args.rounds} alternating rounds, medians (ratios: of the rounds'
          f"' ratios); one process, one thread; decord "
          f'{decord.__version__}; load average {load}; freed memory kept '
          f'by malloc: {args.malloc_kept}')
    decode = rates['decode-only']
    print(f'decode-only rounds: {min(decode):.1f}-{max(decode):.1f} clips/s')
    print(f'{"variant":<18}{"clips/s":>9}{"/decode-only":>14}'
          f'{"middle half":>13}{"/x1":>7}')
    for name, r in rates.items():
        scale = ''
        if ' x' in name:  # repeated sampling: against one clip a video
            base = name.split(' x')[0]
            one = f'{base} x1' if f'{base} x1' in rates else base
            scale = f'{ratio(name, one):>7.2f}'
        print(f'{name:<18}{statistics.median(r):>9.2f}'
              f'{ratio(name, "decode-only"):>14.2f}'
              f'{middle_half(name):>13}{scale}')


if __name__ == '__main__':
    main()
