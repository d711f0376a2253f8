"""Encoder features of every video in a folder or list, one .npy per video.

``python tools/extract_features.py INPUT CONFIG CHECKPOINT --out-dir DIR``

INPUT is a folder (searched recursively for video files) or a list file
(first column = path, relative to ``--data-root``, default: the list's
folder; absolute paths must lie inside that root too, else the run is
refused). ``DIR/<path under the root, without extension>.npy`` mirrors the
input layout; videos that would share a .npy (``a.mp4`` and ``a.avi``) are
refused before anything runs. Resumable: videos whose .npy exists are
skipped (files are written atomically). ``DIR/extract_features.json``
records what makes the features (config, checkpoint, options); a run with
other ones into the same DIR is refused. A DIR of an older version (.npy
files, no such record) is resumed with a warning and gets the record.
Unreadable videos are reported and listed in ``DIR/failed.txt``; the exit
status is then 1. A video that crashed the process (a decoder segfault) is
skipped, and listed, by the next run.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys
from typing import List, Tuple

import numpy as np
from mmengine.config import DictAction

VIDEO_EXTS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.flv',
              '.mpg', '.mpeg')
MANIFEST = 'extract_features.json'
# what a later run into the same --out-dir must match: shown name -> fields
# (the config and checkpoint paths are only shown: a copy is the same model)
COMPARED = {'config': ('config_hash', ),
            'checkpoint': ('checkpoint_size', 'checkpoint_hash'),
            'cfg_options': ('cfg_options', ), 'views': ('views', ),
            'average_views': ('average_views', ), 'fp16': ('fp16', )}
MIB = 1 << 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Save encoder features of many videos as .npy files')
    parser.add_argument('input', help='folder of videos or list file')
    parser.add_argument('config', help='recognizer or pretraining config')
    parser.add_argument('checkpoint', help='checkpoint file or work dir')
    parser.add_argument('--out-dir', required=True,
                        help=f'where the .npy files go; {MANIFEST} there '
                        'records the config, checkpoint and options, and a '
                        'run with other ones into it is refused')
    parser.add_argument('--data-root', help='folder the paths of a list '
                        "file are relative to (default: the list's folder); "
                        'absolute paths must lie inside it too')
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
    videos, outside = [], []
    with open(source, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                entry = line.split()[0]
                path = osp.join(root, entry)
                rel = osp.relpath(path, root or '.')  # absolute ones too
                if rel == osp.pardir or rel.startswith(osp.pardir + osp.sep):
                    outside.append(entry)
                videos.append((path, rel))
    if outside:  # their .npy would land outside --out-dir
        raise ValueError(
            f'input: {len(outside)} entries of {source} lie outside '
            f"{osp.abspath(root)} (--data-root, default: the list's folder): "
            f'{", ".join(outside[:5])}; pass a --data-root that holds them')
    return videos


def run_manifest(args: argparse.Namespace):
    """What makes this run's features: the config (resolved), the
    checkpoint (size and a hash of its first and last MiB: a zip checkpoint
    ends with every entry's CRC) and the options; and the loaded config
    (for the model, so it is read once)."""
    from mmengine.config import Config

    from mmvmae.models.utils.pretrained_loader import resolve_checkpoint
    cfg = Config.fromfile(args.config)
    checkpoint = resolve_checkpoint(args.checkpoint)
    size, digest = None, checkpoint  # a URL: its name
    if '://' not in checkpoint:
        checkpoint = osp.abspath(checkpoint)
        size, sha = osp.getsize(checkpoint), hashlib.sha256()
        with open(checkpoint, 'rb') as f:
            sha.update(f.read(MIB))
            f.seek(max(size - MIB, MIB))
            sha.update(f.read())
        digest = sha.hexdigest()
    manifest = dict(
        config=osp.abspath(args.config),
        config_hash=hashlib.sha256(json.dumps(
            cfg.to_dict(), sort_keys=True, default=str).encode()).hexdigest(),
        checkpoint=checkpoint, checkpoint_size=size, checkpoint_hash=digest,
        cfg_options=args.cfg_options, views=args.views,
        average_views=args.average_views, fp16=args.fp16)
    return json.loads(json.dumps(manifest, default=str)), cfg  # as read


def check_manifest(out_dir: str, manifest: dict, done: int) -> None:
    """Exit if ``out_dir`` holds features of another config, checkpoint or
    options; warn if it has some but no manifest (an older version's)."""
    path = osp.join(out_dir, MANIFEST)
    if not osp.isfile(path):
        if done:
            print(f'warning: {out_dir} has {done} of the .npy files but no '
                  f'{MANIFEST} (an older version wrote them?): assuming '
                  'they come from this config, checkpoint and options',
                  file=sys.stderr, flush=True)
        return
    try:
        with open(path, encoding='utf-8') as f:
            old = dict(json.load(f))
    except (OSError, TypeError, ValueError) as err:
        sys.exit(f'error: {path} is unreadable ({err}); use another '
                 f'--out-dir, or delete {out_dir} to start over')
    differ = []
    for name, keys in COMPARED.items():
        if any(old.get(key) != manifest[key] for key in keys):
            was, now = old.get(name), manifest[name]
            differ.append(f'{name} {now!r} (contents changed)' if was == now
                          else f'{name} (was {was!r}, now {now!r})')
    if differ:
        sys.exit(f'error: --out-dir {out_dir} holds features of another run '
                 f'({path} differs in: {"; ".join(differ)}); use another '
                 f'--out-dir, or delete {out_dir} to start over')


def save_manifest(out_dir: str, manifest: dict) -> None:
    """Write ``out_dir``'s manifest unless it has one (atomically)."""
    path = osp.join(out_dir, MANIFEST)
    if osp.isfile(path):
        return
    os.makedirs(out_dir, exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, path)


def save_atomic(path: str, array: np.ndarray) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}.npy'
    np.save(tmp, array)
    os.replace(tmp, path)


def main() -> None:
    from mmvmae.utils.batch_jobs import exit_on_failures, outputs_or_exit
    args = parse_args()
    try:
        videos = list_videos(args.input, args.data_root)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    if not videos:
        sys.exit(f'error: input: no videos ({", ".join(VIDEO_EXTS)}) in '
                 f'{args.input}')
    relative = dict(videos)  # path -> path under the root
    outputs = outputs_or_exit(
        [path for path, _ in videos],
        lambda path: osp.join(args.out_dir,
                              osp.splitext(relative[path])[0] + '.npy'),
        '.npy file(s)', 'rename them or extract them into separate '
        '--out-dirs')
    todo = [(path, out) for out, path in outputs.items()
            if not osp.isfile(out)]
    done = len(outputs) - len(todo)
    try:
        manifest, cfg = run_manifest(args)
    except (FileNotFoundError, ValueError, TypeError) as err:
        sys.exit(f'error: {err}')
    check_manifest(args.out_dir, manifest, done)
    print(f'{len(outputs)} videos, {done} already done, '
          f'{len(todo)} to extract into {args.out_dir}', flush=True)
    if not todo:
        save_manifest(args.out_dir, manifest)
        return
    from mmengine.utils import ProgressBar

    from mmvmae.apis import VideoReadError, extract_features, init_model
    from mmvmae.apis.video_input import test_pipeline_cfg
    try:
        model = init_model(cfg, args.checkpoint, args.device,
                           args.cfg_options)
        if args.views == 'test':
            test_pipeline_cfg(model.cfg)  # fail now, not once per video
    except (FileNotFoundError, ValueError, TypeError) as err:
        sys.exit(f'error: {err}')
    save_manifest(args.out_dir, manifest)  # once the model is known good
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
