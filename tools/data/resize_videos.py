"""Resize videos to a short side (320 by default) with short keyframe
intervals, so that decoding random clips is cheap.

``python tools/data/resize_videos.py SRC DST [--short-side 320]
[--keyint 16] [--num-workers 8]``

SRC is a folder (searched recursively) or a list file (first column =
path relative to ``--src-root``, default the list's folder). Outputs go to
``DST/<relative path>.mp4``. Uses ffmpeg (libx264, keyframe every
``--keyint`` frames, audio dropped) when it is on PATH, OpenCV otherwise
(mp4v; its writer puts a keyframe every 12 frames, ``--keyint`` is not
applied). Videos already short enough are re-encoded at their size, never
upscaled. Resumable: finished outputs are skipped (each is written to a
temporary file and renamed when complete; ``DST/resize_videos.json``
records the settings and the backend, and a resume with others is
refused); failures are listed in ``DST/failed.txt`` and make the exit
status 1, among them a video more than 1% short of its header's frame
count (a truncated file would otherwise become a valid shorter one).
Videos that would share an output (``a.avi`` and ``a.mp4``), list paths
that would put an output outside DST (absolute, ``../``), a DST inside a
SRC folder and, for a list, a DST that is the videos' folder or an output
that would be a listed video are refused before anything is written.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from functools import partial
from typing import List, Optional, Tuple

VIDEO_EXTS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.flv',
              '.mpg', '.mpeg')


def find_videos(src: str) -> List[str]:
    """Relative paths of the videos of a folder or a list file."""
    if osp.isdir(src):
        found = []
        for folder, _, files in os.walk(src):
            found += [osp.relpath(osp.join(folder, f), src) for f in files
                      if f.lower().endswith(VIDEO_EXTS)]
        return sorted(found)
    if not osp.isfile(src):
        raise FileNotFoundError(f'src: no folder or list file at {src}')
    not_a_list = ValueError(f'src: {src} is not a text file; expected a '
                            'folder of videos or a list of video paths')
    if src.lower().endswith(VIDEO_EXTS):
        raise not_a_list
    try:
        with open(src, encoding='utf-8') as f:
            return [line.split()[0] for line in f if line.strip()]
    except UnicodeDecodeError:
        raise not_a_list from None


def target_size(width: int, height: int, short_side: int) -> Tuple[int, int]:
    """Even ``(w, h)`` with the short side at ``short_side`` (never up)."""
    scale = min(1., short_side / min(width, height))
    return (max(2, int(round(width * scale / 2)) * 2),
            max(2, int(round(height * scale / 2)) * 2))


def frame_count(path: str) -> int:
    """The frame count of the video's header, as OpenCV reads it (0 if it
    has none)."""
    import cv2
    capture = cv2.VideoCapture(path)
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        capture.release()


def check_complete(written: int, expected: int) -> None:
    """A truncated video whose header is intact (e.g. an mp4 with its index
    first) decodes, without an error, into a valid shorter one: more than
    1% (and 2 frames) short of the header's count fails."""
    if expected and expected - written > max(2, expected // 100):
        raise RuntimeError(f'{written} of the {expected} frames its header '
                           'counts could be decoded (a truncated file?)')


def resize_ffmpeg(src: str, dst: str, short_side: int, keyint: int) -> None:
    s = short_side
    # both sides even (libx264's yuv420p refuses odd ones): -2 keeps the
    # aspect, trunc(x/2)*2 rounds the short side down, e.g. 171 -> 170
    scale = (f"scale='if(gt(iw,ih),-2,trunc(min({s},iw)/2)*2)':"
             f"'if(gt(iw,ih),trunc(min({s},ih)/2)*2,-2)'")
    cmd = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', '-i', src,
           '-vf', scale, '-c:v', 'libx264', '-preset', 'veryfast', '-crf',
           '23', '-g', str(keyint), '-keyint_min', str(keyint),
           '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-an', '-f', 'mp4',
           dst]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'ffmpeg failed: {result.stderr.strip()[-300:]}')
    check_complete(frame_count(dst), frame_count(src))


def resize_opencv(src: str, dst: str, short_side: int, keyint: int) -> None:
    import cv2
    cv2.setNumThreads(1)
    capture = cv2.VideoCapture(src)
    ok, frame = capture.read()
    if not capture.isOpened() or not ok:
        raise RuntimeError('OpenCV cannot read it')
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.
    expected = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    size = target_size(frame.shape[1], frame.shape[0], short_side)
    writer = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    written = 0
    try:
        while ok:
            writer.write(cv2.resize(frame, size,
                                    interpolation=cv2.INTER_AREA))
            written += 1
            ok, frame = capture.read()
    finally:
        writer.release()
        capture.release()
    check_complete(written, expected)


def resize_one(rel: str, src_root: str, dst_root: str, short_side: int,
               keyint: int, backend: str) -> Optional[str]:
    """Resize one video; returns an error line or None."""
    src = osp.join(src_root, rel)
    dst = osp.join(dst_root, osp.splitext(rel)[0] + '.mp4')
    if osp.isfile(dst):
        return None
    os.makedirs(osp.dirname(dst) or '.', exist_ok=True)
    for stale in glob.glob(glob.escape(dst) + '.part*.mp4'):
        os.remove(stale)  # a killed earlier attempt's
    tmp = f'{dst}.part{os.getpid()}.mp4'
    try:
        if not osp.isfile(src):
            raise FileNotFoundError('no such file')
        run = resize_ffmpeg if backend == 'ffmpeg' else resize_opencv
        run(src, tmp, short_side, keyint)
        os.replace(tmp, dst)
    except BaseException as err:  # Ctrl-C too: no partial file is left
        if osp.exists(tmp):
            os.remove(tmp)
        if not isinstance(err, Exception):
            raise
        # one bad video must not stop the others
        return f'{src}\t{type(err).__name__}: {err}'
    return None


SETTINGS = 'resize_videos.json'


def check_settings(dst: str, settings: dict) -> None:
    """Record the settings in ``DST`` on the first run; a resume with other
    settings would count the old outputs as done: refused."""
    from mmvmae.utils.atomic_write import atomic_write
    path = osp.join(dst, SETTINGS)
    if osp.isfile(path):
        with open(path) as f:
            done = json.load(f)
        # a record from before the backend was recorded: any backend
        done.setdefault('backend', settings['backend'])
        if done != settings:
            sys.exit(f'error: {dst} holds videos resized with {done} '
                     f'({path}), not {settings}; resize into another DST, '
                     'or delete it to start over')
        return
    atomic_write(json.dumps(settings), path)


def refuse_own_outputs(videos: List[str], root: str, dst: str) -> None:
    """Exits if DST is the listed videos' folder ``root`` (outputs beside
    their sources), or if an output would be a listed video itself (it
    would count as done, or be written over)."""
    from mmvmae.utils.batch_jobs import is_inside, same_file
    if same_file(dst, root):
        sys.exit(f'error: DST {dst} is the folder of the listed videos '
                 '(--src-root, default the list\'s folder): outputs would '
                 'land beside or on their sources; choose another DST')
    if not is_inside(dst, root):  # outputs cannot be sources (no ../)
        return
    src_base, dst_base = osp.realpath(root), osp.realpath(dst)
    sources = {osp.normpath(osp.join(src_base, rel)) for rel in videos}
    own = [osp.join(dst, osp.splitext(rel)[0] + '.mp4') for rel in videos
           if osp.normpath(osp.join(dst_base, osp.splitext(rel)[0] + '.mp4'))
           in sources]
    if own:
        sys.exit(f'error: {len(own)} output(s) would be listed videos '
                 '(counted as done, or written over); choose a DST outside '
                 f'{root or "."}:\n' + '\n'.join(own[:5]))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Resize videos to a short side, short keyframe '
        'intervals, in parallel, resumable')
    parser.add_argument('src', help='folder of videos or list file')
    parser.add_argument('dst', help='output folder')
    parser.add_argument('--src-root', help='folder the paths of a list file '
                        "are relative to (default: the list's folder)")
    parser.add_argument('--short-side', type=int, default=320)
    parser.add_argument('--keyint', type=int, default=16,
                        help='frames between keyframes (ffmpeg only)')
    parser.add_argument('--num-workers', type=int,
                        default=min(8, os.cpu_count() or 1))
    parser.add_argument('--backend', choices=('auto', 'ffmpeg', 'opencv'),
                        default='auto',
                        help='auto: ffmpeg when on PATH, else OpenCV')
    return parser.parse_args()


def main() -> None:
    from mmvmae.utils.batch_jobs import (clear_failures, exit_on_failures,
                                         is_inside, outputs_or_exit,
                                         run_jobs, video_backend)
    args = parse_args()
    if args.short_side < 2 or args.keyint < 1 or args.num_workers < 1:
        sys.exit('error: --short-side must be >= 2, --keyint and '
                 '--num-workers >= 1')
    backend = video_backend(args.backend)
    try:
        videos = find_videos(args.src)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    root = args.src if osp.isdir(args.src) else (
        args.src_root or osp.dirname(args.src))
    if osp.isdir(args.src) and is_inside(args.dst, args.src):
        sys.exit(f'error: DST {args.dst} is inside SRC {args.src}: a later '
                 'run would read its outputs as videos; choose another DST')
    outputs = outputs_or_exit(
        videos, lambda rel: osp.join(args.dst, osp.splitext(rel)[0] + '.mp4'),
        'output .mp4 file(s)', 'rename them or resize them into separate '
        'DST folders', inside=args.dst)
    if not osp.isdir(args.src):
        refuse_own_outputs(videos, root, args.dst)
    check_settings(args.dst, dict(short_side=args.short_side,
                                  keyint=args.keyint, backend=backend))
    todo = [rel for out, rel in outputs.items() if not osp.isfile(out)]
    print(f'{len(outputs)} videos, {len(outputs) - len(todo)} already done; '
          f'resizing {len(todo)} to short side {args.short_side} with '
          f'{backend}, {args.num_workers} workers', flush=True)
    if not todo:
        clear_failures(args.dst)
        return
    job = partial(resize_one, src_root=root, dst_root=args.dst,
                  short_side=args.short_side, keyint=args.keyint,
                  backend=backend)
    exit_on_failures(run_jobs(job, todo, args.num_workers), len(todo),
                     args.dst)


if __name__ == '__main__':
    main()
