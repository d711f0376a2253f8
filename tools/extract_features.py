"""Encoder features of every video in a folder or list, one .npy per video.

``python tools/extract_features.py INPUT CONFIG CHECKPOINT --out-dir DIR``

INPUT is a folder (searched recursively for video files) or a list file
(first column = path, relative to ``--data-root``, default: the list's
folder). ``DIR/<relative path>.npy`` mirrors the input layout. Resumable:
videos whose .npy exists are skipped (files are written atomically).
Unreadable videos are reported and listed in ``DIR/failed.txt``; the exit
status is then 1. A video that crashed the process (a decoder segfault) is
skipped, and listed, by the next run.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Tuple

import numpy as np
from mmengine.config import DictAction

VIDEO_EXTS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.flv',
              '.mpg', '.mpeg')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Save encoder features of many videos as .npy files')
    parser.add_argument('input', help='folder of videos or list file')
    parser.add_argument('config', help='recognizer or pretraining config')
    parser.add_argument('checkpoint', help='checkpoint file or work dir')
    parser.add_argument('--out-dir', required=True,
                        help='where the .npy files go')
    parser.add_argument('--data-root', help='folder the paths of a list '
                        "file are relative to (default: the list's folder)")
    parser.add_argument(
        '--views', choices=('single', 'test'), default='single',
        help="'single': one centre clip and crop (default); 'test': every "
        "view of the config's test pipeline")
    parser.add_argument('--average-views', action='store_true',
                        help='save the mean over views instead of one row '
                        'per view')
    parser.add_argument('--fp16', action='store_true',
                        help='store float16 instead of float32')
    parser.add_argument('--device', default=None,
                        help="e.g. 'cuda:0' or 'cpu'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def list_videos(source: str,
                data_root: str = None) -> List[Tuple[str, str]]:
    """``[(video path, path relative to the root)]`` of a folder or list."""
    if osp.isdir(source):
        found = []
        for folder, _, files in os.walk(source):
            found += [osp.join(folder, f) for f in files
                      if f.lower().endswith(VIDEO_EXTS)]
        return [(p, osp.relpath(p, source)) for p in sorted(found)]
    if not osp.isfile(source):
        raise FileNotFoundError(f'input: no folder or list file at {source}')
    root = data_root if data_root is not None else osp.dirname(source)
    videos = []
    with open(source, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                rel = line.split()[0]
                videos.append((osp.join(root, rel), rel))
    return videos


def save_atomic(path: str, array: np.ndarray) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}.npy'
    np.save(tmp, array)
    os.replace(tmp, path)


def main() -> None:
    args = parse_args()
    try:
        videos = list_videos(args.input, args.data_root)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    if not videos:
        sys.exit(f'error: input: no videos ({", ".join(VIDEO_EXTS)}) in '
                 f'{args.input}')
    todo = [(path, osp.join(args.out_dir, osp.splitext(rel)[0] + '.npy'))
            for path, rel in videos]
    todo = [(path, out) for path, out in todo if not osp.isfile(out)]
    print(f'{len(videos)} videos, {len(videos) - len(todo)} already done, '
          f'{len(todo)} to extract into {args.out_dir}', flush=True)
    if not todo:
        return
    from mmengine.utils import ProgressBar

    from mmvmae.apis import VideoReadError, extract_features, init_model
    from mmvmae.apis.video_input import test_pipeline_cfg
    from mmvmae.utils.batch_jobs import exit_on_failures
    try:
        model = init_model(args.config, args.checkpoint, args.device,
                           args.cfg_options)
        if args.views == 'test':
            test_pipeline_cfg(model.cfg)  # fail now, not once per video
    except (FileNotFoundError, ValueError, TypeError) as err:
        sys.exit(f'error: {err}')
    # the video being read; left behind when a decoder crash kills the
    # process, so a re-run skips that video instead of crashing again
    marker = osp.join(args.out_dir, '.in_progress')
    crashed = open(marker).read().strip() if osp.isfile(marker) else None
    failed = []
    os.makedirs(args.out_dir, exist_ok=True)
    progress = ProgressBar(len(todo), file=sys.stdout)
    for path, out in todo:
        if path == crashed:
            failed.append(f'{path}\tthe previous run died reading it')
            progress.update()
            continue
        with open(marker, 'w') as f:
            f.write(path)
        try:
            features = extract_features(model, path, views=args.views)
        except (FileNotFoundError, VideoReadError, ValueError) as err:
            failed.append(f'{path}\t{err}')
        else:
            features = features.mean(0) if args.average_views else features
            save_atomic(out, features.numpy().astype(
                np.float16 if args.fp16 else np.float32))
        progress.update()
    os.remove(marker)
    print(flush=True)
    exit_on_failures(failed, len(todo), args.out_dir, 'could not be read')


if __name__ == '__main__':
    main()
