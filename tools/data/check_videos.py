"""Find the videos of a list that decord cannot read, before training.

``python tools/data/check_videos.py LIST --data-prefix DIR [--full]``
``python tools/data/check_videos.py CONFIG [--split train|val|test]``

LIST is a video list file ("path" or "path label" lines, read as
``VideoListDataset`` reads it); with a config, the list and video folder of
its ``{split}_dataloader`` dataset (through wrappers such as
``RepeatedSamplingDataset``). Each video is opened with decord and its first,
middle and last frames are decoded (a truncated file fails at the last one);
``--full`` decodes every frame (slower, finds damage in the middle too).

Writes to ``--out-dir``: ``failed.txt`` (one ``path<TAB>reason`` line per
unreadable video; an earlier run's is removed first) and a copy of the list
without their lines (the other lines as written), under the list's name, to
train on (an ``--out-dir`` where that is the list itself, also through a
link, is refused). Exit status 1 when any video failed.
"""
import argparse
import os
import os.path as osp
import sys
from functools import partial
from typing import List, Optional, Tuple

CHUNK = 32  # frames decoded at a time with --full
# how a dataset config's list is read (VideoListDataset arguments)
LIST_OPTIONS = ('delimiter', 'multi_class', 'num_classes')


def check_video(path: str, full: bool = False) -> Optional[str]:
    """None if decord decodes the video (first, middle and last frames, or
    all with ``full``), else ``path<TAB>reason``."""
    import decord
    try:
        if not osp.isfile(path):
            raise FileNotFoundError('no such file')
        reader = decord.VideoReader(path, num_threads=1)
        count = len(reader)
        if count == 0:
            raise ValueError('no frames')
        chunks = [range(i, min(i + CHUNK, count))
                  for i in range(0, count, CHUNK)] if full else \
            [sorted({0, count // 2, count - 1})]
        for frames in chunks:
            # decoded into decord's buffer; not copied out (memory stays
            # flat with --full on long videos)
            shape = reader.get_batch(list(frames)).shape
            if shape[0] != len(frames) or 0 in shape:
                raise ValueError(f'decoded frames of shape {shape} for '
                                 f'{len(frames)} frames')
    except Exception as error:  # any reader error means "bad video"
        reason = str(error).strip().splitlines()[0][:200] if str(error) \
            else ''
        return f'{path}\t{type(error).__name__}: {reason}'
    return None


def dataset_of_config(config: str, split: str) -> Tuple[str, str, dict]:
    """``(ann_file, video folder, list options)`` of the config's
    ``{split}_dataloader`` dataset, as mmengine resolves them (``data_root``
    joined)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        sys.exit(f'error: {config} has no {split}_dataloader')
    dataset, where = loader['dataset'], f'{split}_dataloader.dataset'
    while 'dataset' in dataset:  # wrappers
        dataset, where = dataset['dataset'], f'{where}.dataset'
    ann_file = dataset.get('ann_file')
    # mmaction2's VideoDataset defaults to data_prefix=dict(video='')
    prefix = (dataset.get('data_prefix') or {}).get('video') or ''
    if not ann_file:
        sys.exit(f'error: {where} ({dataset.get("type")}) is not a video '
                 'list dataset (no ann_file): pass the list file and '
                 '--data-prefix instead')
    root = dataset.get('data_root') or ''
    if root and not osp.isabs(ann_file):
        ann_file = osp.join(root, ann_file)
    if root and not osp.isabs(prefix):
        prefix = osp.join(root, prefix)
    options = {key: dataset[key] for key in LIST_OPTIONS if key in dataset}
    return ann_file, prefix, options


def read_list(ann_file: str, prefix: str,
              options: dict) -> List[Tuple[Optional[str], str]]:
    """``(video path, line)`` of each line of the list, as written (ends
    included); the path is None for blank lines. Parsed as
    ``VideoListDataset(**options)`` parses it (a bad line is an error)."""
    from mmvmae.datasets.video_list_dataset import VideoListDataset
    if not osp.isfile(ann_file):
        sys.exit(f'error: no list file at {ann_file}')
    try:
        dataset = VideoListDataset(ann_file, pipeline=[],
                                   data_prefix=dict(video=prefix),
                                   serialize_data=False, **options)
    except UnicodeDecodeError:  # e.g. a video given as the list
        sys.exit(f'error: {ann_file} is not a text file; expected a list '
                 'of video paths (or a config)')
    except ValueError as error:
        sys.exit(f'error: {error}')
    with open(ann_file, encoding='utf-8', newline='') as f:
        lines = f.readlines()
    paths = iter(info['filename'] for info in dataset.data_list)
    # one entry per non-blank line, in order
    return [(next(paths) if line.strip() else None, line) for line in lines]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Find the videos of a list (or a config\'s dataset) '
        'that decord cannot read')
    parser.add_argument('source', help='video list file, or a config (.py)')
    parser.add_argument('--data-prefix', default=None,
                        help='folder the list\'s paths are relative to '
                        "(default: the list's folder; not with a config)")
    parser.add_argument('--split', default='train',
                        choices=('train', 'val', 'test'),
                        help='with a config: which dataloader\'s dataset')
    parser.add_argument('--full', action='store_true',
                        help='decode every frame, not only the first, '
                        'middle and last')
    parser.add_argument('--out-dir', default='check_videos',
                        help='where failed.txt and the cleaned list go')
    parser.add_argument('--num-workers', type=int,
                        default=min(8, os.cpu_count() or 1))
    return parser.parse_args()


def main() -> None:
    from mmvmae.utils.atomic_write import atomic_file
    from mmvmae.utils.batch_jobs import (clear_failures, exit_on_failures,
                                         run_jobs, same_file)
    args = parse_args()
    if args.num_workers < 1:
        sys.exit('error: --num-workers must be >= 1')
    if args.source.endswith('.py'):
        if args.data_prefix is not None:
            sys.exit('error: --data-prefix is for a list file; a config '
                     'names its own video folder')
        if not osp.isfile(args.source):
            sys.exit(f'error: no config file at {args.source}')
        ann_file, prefix, options = dataset_of_config(args.source,
                                                      args.split)
    else:
        ann_file, options = args.source, {}
        prefix = osp.dirname(ann_file) if args.data_prefix is None \
            else args.data_prefix
    entries = read_list(ann_file, prefix, options)
    clean_list = osp.join(args.out_dir, osp.basename(ann_file))
    if same_file(clean_list, ann_file):  # also through links
        sys.exit(f'error: --out-dir {args.out_dir} holds the list itself; '
                 'choose another folder (the list is never overwritten)')
    if osp.basename(ann_file) == 'failed.txt':
        sys.exit('error: the list is named failed.txt, the name of the '
                 'failure listing; rename it')
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        sys.exit(f'error: --out-dir {args.out_dir} is a file, not a folder')
    os.makedirs(args.out_dir, exist_ok=True)
    clear_failures(args.out_dir)  # an earlier run's, not this one's
    videos = sorted({path for path, _ in entries if path is not None})
    count = sum(path is not None for path, _ in entries)
    print(f'{ann_file}: {count} entries, {len(videos)} videos in '
          f'{prefix or "."}; decoding '
          f'{"every frame" if args.full else "first, middle and last frames"}'
          f' with {args.num_workers} workers', flush=True)
    failed = run_jobs(partial(check_video, full=args.full), videos,
                      args.num_workers)
    bad = {line.split('\t')[0] for line in failed}
    with atomic_file(clean_list) as tmp, \
            open(tmp, 'w', encoding='utf-8', newline='') as f:
        f.writelines(line for path, line in entries if path not in bad)
    print(f'\n{len(videos) - len(bad)} of {len(videos)} videos read; the list'
          + (' without the others: ' if bad else ' (all kept): ') + clean_list,
          flush=True)
    exit_on_failures(sorted(failed), len(videos), args.out_dir,
                     'are unreadable')


if __name__ == '__main__':
    main()
