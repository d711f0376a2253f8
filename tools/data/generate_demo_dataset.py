"""Generate the demo video dataset (moving shapes, 4 motion classes).

Example::

    python tools/data/generate_demo_dataset.py --out data/demo
"""
import argparse
import os.path as osp
import shutil
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmvmae.datasets.demo_data import (META_FILE,  # noqa: E402
                                       ensure_demo_dataset)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate small mp4 videos of textured shapes moving '
        'in 4 directions (label = direction), with train.txt, val.txt, '
        'unlabeled.txt, classes.txt, README.txt and meta.json.')
    parser.add_argument('--out', default='data/demo', help='output folder')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--num-frames', type=int, default=40)
    parser.add_argument('--height', type=int, default=96)
    parser.add_argument('--width', type=int, default=128)
    parser.add_argument('--fps', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true',
                        help='regenerate: delete the demo dataset at --out '
                        'first (a folder that is not one is never deleted)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for name in ('num_train', 'num_val', 'num_frames', 'height', 'width',
                 'fps'):
        if getattr(args, name) < 1:
            sys.exit(f'--{name.replace("_", "-")} must be >= 1')
    if osp.exists(args.out) and not osp.isdir(args.out):
        sys.exit(f'error: --out {args.out} is a file, not a folder')
    is_demo = osp.isfile(osp.join(args.out, META_FILE))
    if args.force and is_demo:
        shutil.rmtree(args.out)
    elif is_demo:
        print(f'{args.out} already holds a demo dataset (use --force to '
              'regenerate)')
        return
    try:
        ensure_demo_dataset(
            args.out, num_train=args.num_train, num_val=args.num_val,
            num_frames=args.num_frames, height=args.height, width=args.width,
            fps=args.fps, seed=args.seed)
    except FileExistsError as err:  # a folder of other files: never deleted
        sys.exit(f'error: {err}')
    print(f'demo dataset written to {args.out}')


if __name__ == '__main__':
    main()
