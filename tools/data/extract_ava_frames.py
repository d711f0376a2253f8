"""AVA frame extraction: the 15-minute annotated window at 30 fps as JPEGs,
in the layout of mmaction2's rawframe ``AVADataset``.

``python tools/data/extract_ava_frames.py VIDEOS OUT [--num-workers 8]``

For each ``VIDEOS/<video_id>.<ext>`` writes ``OUT/<video_id>/img_00001.jpg``
..., frame ``k`` showing second ``start + (k - 1) / fps`` of the video
(``start`` = 900, the first annotated second of AVA, unless the videos are
already cut to the window: ``--already-cut``). This matches
``AVADataset(filename_tmpl='img_{:05}.jpg', start_index=1,
timestamp_start=900, fps=30)``. mmvmae's ``AVAVideoDataset`` reads the
videos directly and needs no frames; this step is for rawframe pipelines.

Uses ffmpeg when on PATH, OpenCV otherwise (nearest source frame to each
output time). Resumable: a video whose folder has the ``.done`` marker is
skipped; failures (an unreadable video, one that ends more than a second
before the window does) are listed in ``OUT/failed.txt`` (exit status 1).
Videos that share an id (``a.mp4`` and ``a.mkv``) are refused before
anything is written.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys
from functools import partial
from typing import List, Optional

VIDEO_EXTS = ('.mp4', '.mkv', '.webm', '.avi', '.mov')
DONE = '.done'


def frame_count(duration: float, fps: float) -> int:
    return int(round(duration * fps))


def extract_ffmpeg(src: str, out: str, start: float, duration: float,
                   fps: float, short_side: Optional[int]) -> int:
    vf = f'fps={fps}'
    if short_side:
        s = short_side
        vf += (f",scale='if(gt(iw,ih),-2,{s})':'if(gt(iw,ih),{s},-2)'")
    cmd = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', '-ss',
           str(start), '-t', str(duration), '-i', src, '-vf', vf, '-q:v',
           '2', '-frames:v', str(frame_count(duration, fps)),
           osp.join(out, 'img_%05d.jpg')]
    result = subprocess.run(cmd, capture_output=True, text=True)
    written = len(os.listdir(out))
    if result.returncode != 0 and not (
            written == 0 and 'Nothing was written' in result.stderr):
        raise RuntimeError(f'ffmpeg failed: {result.stderr.strip()[-300:]}')
    # a window after the end: older ffmpeg exits 0, newer fails with
    # "Nothing was written" (and encoder noise); check_frame_count says why
    return written


def extract_opencv(src: str, out: str, start: float, duration: float,
                   fps: float, short_side: Optional[int]) -> int:
    import cv2
    cv2.setNumThreads(1)
    capture = cv2.VideoCapture(src)
    src_fps = capture.get(cv2.CAP_PROP_FPS)
    if not capture.isOpened() or not src_fps:
        raise RuntimeError('OpenCV cannot read it')
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    index, frame, written = -1, None, 0
    first = int(round(start * src_fps))
    if first > 0 and capture.set(cv2.CAP_PROP_POS_FRAMES, first):
        index = first - 1  # seek instead of decoding the first 15 minutes
    try:
        for k in range(frame_count(duration, fps)):
            wanted = int(round((start + k / fps) * src_fps))
            if total and wanted >= total:
                break
            while index < wanted:  # decode forward to the wanted frame
                ok, frame = capture.read()
                if not ok:
                    break
                index += 1
            if index < wanted:
                break
            image = frame
            if short_side:
                h, w = frame.shape[:2]
                scale = short_side / min(h, w)
                image = cv2.resize(frame, (round(w * scale), round(h * scale)),
                                   interpolation=cv2.INTER_AREA)
            cv2.imwrite(osp.join(out, f'img_{k + 1:05d}.jpg'), image,
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            written += 1
    finally:
        capture.release()
    return written


def extract_one(name: str, src_dir: str, out_dir: str, start: float,
                duration: float, fps: float, short_side: Optional[int],
                backend: str) -> Optional[str]:
    """Frames of one video; returns an error line or None."""
    out = osp.join(out_dir, osp.splitext(name)[0])
    if osp.isfile(osp.join(out, DONE)):
        return None
    if osp.isdir(out):
        shutil.rmtree(out)  # an interrupted earlier attempt
    os.makedirs(out)
    try:
        run = extract_ffmpeg if backend == 'ffmpeg' else extract_opencv
        written = run(osp.join(src_dir, name), out, start, duration, fps,
                      short_side)
        check_frame_count(written, start, duration, fps)
    except Exception as err:  # one bad video must not stop the others
        return f'{osp.join(src_dir, name)}\t{type(err).__name__}: {err}'
    open(osp.join(out, DONE), 'w').close()
    return None


def check_frame_count(written: int, start: float, duration: float,
                      fps: float) -> None:
    """The window must be in the video, up to its last second (a cut may
    end a few frames early); a video that ends sooner (a truncated
    download) would pass as complete."""
    wanted = frame_count(duration, fps)
    if written == 0:
        raise RuntimeError(f'no frame at or after second {start:g}')
    if written < wanted - fps:
        raise RuntimeError(
            f'the video ends at second {start + written / fps:g}: {written} '
            f'of {wanted} frames (a truncated file? --start / --duration / '
            '--already-cut set the window)')


def find_videos(src_dir: str) -> List[str]:
    if not osp.isdir(src_dir):
        raise FileNotFoundError(f'videos: no folder at {src_dir}')
    return sorted(f for f in os.listdir(src_dir)
                  if f.lower().endswith(VIDEO_EXTS))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Extract AVA frames (img_00001.jpg ...) at 30 fps')
    parser.add_argument('videos', help='folder of <video_id>.<ext> files')
    parser.add_argument('out', help='output folder of frame folders')
    parser.add_argument('--start', type=float, default=900.,
                        help='first second to extract (default 900)')
    parser.add_argument('--duration', type=float, default=901.,
                        help='seconds to extract (default 901: 900-1800)')
    parser.add_argument('--already-cut', action='store_true',
                        help='videos are mmaction2 15-minute cuts: start 0')
    parser.add_argument('--fps', type=float, default=30.)
    parser.add_argument('--short-side', type=int,
                        help='resize frames to this short side')
    parser.add_argument('--num-workers', type=int,
                        default=min(8, os.cpu_count() or 1))
    parser.add_argument('--backend', choices=('auto', 'ffmpeg', 'opencv'),
                        default='auto')
    return parser.parse_args()


def main() -> None:
    from mmvmae.utils.batch_jobs import (clear_failures, exit_on_failures,
                                         outputs_or_exit, run_jobs,
                                         video_backend)
    args = parse_args()
    if args.fps <= 0 or args.duration <= 0 or args.num_workers < 1:
        sys.exit('error: --fps and --duration must be > 0, --num-workers '
                 '>= 1')
    start = 0. if args.already_cut else args.start
    backend = video_backend(args.backend)
    try:
        videos = find_videos(args.videos)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    if not videos:
        sys.exit(f'error: no videos ({", ".join(VIDEO_EXTS)}) in '
                 f'{args.videos}')
    outputs_or_exit(videos, lambda v: osp.join(args.out, osp.splitext(v)[0]),
                    'frame folder(s)', 'keep one video per id')
    todo = [v for v in videos if not osp.isfile(
        osp.join(args.out, osp.splitext(v)[0], DONE))]
    print(f'{len(videos)} videos, {len(videos) - len(todo)} already done; '
          f'extracting {len(todo)} from second {start:g} for '
          f'{args.duration:g} s at {args.fps:g} fps with {backend}',
          flush=True)
    if not todo:
        clear_failures(args.out)  # an earlier run's, all done since
        return
    job = partial(extract_one, src_dir=args.videos, out_dir=args.out,
                  start=start, duration=args.duration, fps=args.fps,
                  short_side=args.short_side, backend=backend)
    exit_on_failures(run_jobs(job, todo, args.num_workers), len(todo),
                     args.out)


if __name__ == '__main__':
    main()
