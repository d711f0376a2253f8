"""Encoder features of every video in a folder or list, one .npy per video.

``python tools/extract_features.py INPUT CONFIG CHECKPOINT --out-dir DIR``

INPUT is a folder (searched recursively for video files), one video
(``DIR/<name>.npy``), or a list file (first column = path, relative to ``--data-root``, default: the list's
folder; absolute paths must lie inside that root too, else the run is
refused). ``DIR/<path under the root, without extension>.npy`` mirrors the
input layout; videos that would share a .npy (``a.mp4`` and ``a.avi``) are
refused before anything runs. Resumable: videos whose .npy exists are
skipped (files are written atomically). ``DIR/extract_features.json``
records what makes the features (config, checkpoint, options); a run with
other ones into the same DIR is refused. A DIR of an older version (.npy
files, no such record) is resumed with a warning and gets the record.
Unreadable videos are reported and listed in ``DIR/failed.txt``; the exit
status is then 1. A run that leaves no failure removes an earlier
``failed.txt``.

A run stopped by SIGTERM, SIGHUP or Ctrl-C (SIGINT) cleans up and dies of
that signal (exit status 128 + its number); a re-run continues. A run that
dies while reading a video without that chance (a decoder segfault, SIGKILL,
the out-of-memory killer) leaves ``DIR/.in_progress`` naming the video: the
next run tries it again after the others. A video that killed two runs is
recorded in ``DIR/crashed.txt``, and every later run skips it and lists it
as failed until its line is removed from that file.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import signal
import sys
from typing import List, Optional, Tuple

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
MARKER = '.in_progress'  # the video being read, while it is read
CRASHED = 'crashed.txt'  # videos that killed two runs, skipped from then on


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Save encoder features of many videos as .npy files')
    parser.add_argument('input', help='folder of videos, a video, or a list '
                        'file')
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
    if source.lower().endswith(VIDEO_EXTS):  # one video
        return [(source, osp.basename(source))]
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
    from mmvmae.utils.config_check import read_config
    from mmvmae.models.utils.pretrained_loader import resolve_checkpoint
    cfg = read_config(args.config)
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
    from mmvmae.utils.atomic_write import atomic_write
    atomic_write(json.dumps(manifest, indent=2), path)


def save_atomic(path: str, array: np.ndarray) -> None:
    from mmvmae.utils.atomic_write import atomic_file
    with atomic_file(path) as tmp, open(tmp, 'wb') as f:
        np.save(f, array)


class Stopped(BaseException):
    """A SIGTERM or SIGHUP arrived (raised in the main thread, so that
    clean-up code runs as for Ctrl-C)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, frame) -> None:
    raise Stopped(signum)


def catch_stop_signals() -> dict:
    """Raise ``Stopped`` on SIGTERM and SIGHUP where they would kill the
    process (left alone if ignored, e.g. under ``nohup``); returns the
    previous handlers."""
    previous = {}
    for signum in (signal.SIGTERM, getattr(signal, 'SIGHUP', None)):
        if signum is None:  # no SIGHUP on Windows
            continue
        if signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _raise_stopped)
    return previous


def die_of(signum: int) -> None:
    """End the process by ``signum`` with its default action, as if it had
    not been caught: the parent sees the signal (a shell: 128 + signum)."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    sys.exit(128 + signum)  # not reached where the signal kills


def read_marker(out_dir: str) -> Tuple[Optional[str], int]:
    """``(video, attempt)`` of the marker a dead run left in ``out_dir``
    (``attempt`` 2: it was the retry), or ``(None, 0)``."""
    path = osp.join(out_dir, MARKER)
    if not osp.isfile(path):
        return None, 0
    with open(path, encoding='utf-8') as f:
        text = f.read().strip()
    try:
        record = json.loads(text)
        return record['video'], int(record['attempt'])
    except (ValueError, TypeError, KeyError):  # an older version's: a path
        return (osp.abspath(text), 1) if text else (None, 0)


def read_crashed(out_dir: str) -> List[str]:
    path = osp.join(out_dir, CRASHED)
    if not osp.isfile(path):
        return []
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f if line.strip()]


def record_crashed(out_dir: str, video: str) -> None:
    """Add ``video`` to ``out_dir/crashed.txt`` (atomically)."""
    videos = read_crashed(out_dir)
    if video in videos:
        return
    from mmvmae.utils.atomic_write import atomic_write
    atomic_write(''.join(f'{v}\n' for v in videos + [video]),
                 osp.join(out_dir, CRASHED))


def check_out_dir(out_dir: str) -> None:
    """Exit if ``out_dir`` cannot be a folder: it, or the nearest existing
    folder above it, is a file."""
    existing = osp.abspath(out_dir)
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        sys.exit(f'error: --out-dir {out_dir}: {existing} is a file, not a '
                 'folder')


def main() -> None:
    from mmvmae.utils.batch_jobs import (clear_failures, exit_on_failures,
                                         outputs_or_exit)
    args = parse_args()
    check_out_dir(args.out_dir)
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
        clear_failures(args.out_dir)  # an earlier run's, stale now
        return
    from mmengine.utils import ProgressBar

    from mmvmae.apis import init_model
    from mmvmae.apis.video_input import test_pipeline_cfg
    try:
        model = init_model(cfg, args.checkpoint, args.device,
                           args.cfg_options)
        if args.views == 'test':
            test_pipeline_cfg(model.cfg)  # fail now, not once per video
    except (FileNotFoundError, ValueError, TypeError) as err:
        sys.exit(f'error: {err}')
    save_manifest(args.out_dir, manifest)  # once the model is known good
    failed, todo, retry = plan_crashed(args.out_dir, todo)
    total = len(failed) + len(todo)
    progress = ProgressBar(len(todo), file=sys.stdout)
    handlers = catch_stop_signals()
    try:
        failed += extract_all(model, args, todo, progress, retry)
    except (Stopped, KeyboardInterrupt) as stop:
        name = str(stop) if isinstance(stop, Stopped) else 'SIGINT'
        print(f'\nstopped by {name} after {progress.completed} of '
              f'{len(todo)} videos; run it again to continue',
              file=sys.stderr)
        die_of(getattr(stop, 'signum', signal.SIGINT))
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    print(flush=True)
    exit_on_failures(failed, total, args.out_dir, 'could not be read')


def plan_crashed(out_dir: str, todo: List[Tuple[str, str]]
                 ) -> Tuple[List[str], List[Tuple[str, str]], Optional[str]]:
    """``(failures, todo, retry)``: the failures of the videos that killed
    two runs (recorded in ``crashed.txt``, left out of ``todo``); ``retry``:
    the video one run died reading, if any, moved to the end of ``todo``."""
    video, attempt = read_marker(out_dir)
    by_video = {osp.abspath(path): (path, out) for path, out in todo}
    if video in by_video and attempt >= 2:
        record_crashed(out_dir, video)
    failed = []
    for crashed in read_crashed(out_dir):
        if crashed in by_video:
            path, _ = by_video.pop(crashed)
            failed.append(
                f'{path}\tkilled two runs while it was read (a crash in the '
                'video decoder or the model?); listed in '
                f'{osp.join(out_dir, CRASHED)}, remove it there to try again')
    todo = list(by_video.values())
    if video in by_video and attempt < 2:
        print(f'warning: the previous run died while reading {video} (a '
              'crash, SIGKILL or the out-of-memory killer): trying it again '
              'after the other videos; if it dies again, the next run skips '
              'it', file=sys.stderr, flush=True)
        todo.append(todo.pop(todo.index(by_video[video])))
        return failed, todo, video
    return failed, todo, None


def extract_all(model, args: argparse.Namespace,
                todo: List[Tuple[str, str]], progress,
                retry: Optional[str] = None) -> List[str]:
    """Extract and save the features of ``todo``; returns the failures.
    ``out_dir/.in_progress`` names the video being read (attempt 2 for
    ``retry``): removed on any Python exception (Ctrl-C, ``Stopped`` too),
    it stays only where the process dies without one (a crash, SIGKILL)."""
    from mmvmae.apis import VideoReadError, extract_features
    marker = osp.join(args.out_dir, MARKER)
    failed = []
    os.makedirs(args.out_dir, exist_ok=True)
    try:
        for path, out in todo:
            video = osp.abspath(path)
            with open(marker, 'w', encoding='utf-8') as f:
                json.dump(dict(video=video,
                               attempt=2 if video == retry else 1), f)
            try:
                features = extract_features(model, path, views=args.views)
            except (FileNotFoundError, VideoReadError, ValueError) as err:
                failed.append(f'{path}\t{err}')
                progress.update()
                continue
            except Exception:  # a bug or the machine: stop, name the video
                print(f'\nerror while extracting {path}:', file=sys.stderr)
                raise
            if args.average_views:
                features = features.mean(0)
            save_atomic(out, features.numpy().astype(
                np.float16 if args.fp16 else np.float32))
            progress.update()
    finally:
        if osp.exists(marker):
            os.remove(marker)
    return failed


if __name__ == '__main__':
    main()
