"""Generate the motion benchmark of the data-efficiency benchmark.

    python tools/benchmarks/generate_motion_benchmark.py --out DIR

Deterministic (same arguments, same frames); skips the work when ``--out``
already holds a complete set made with the same arguments.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time

from mmvmae.datasets.motion_benchmark import (GENERATOR_VERSION, META_FILE,
                                              generate_motion_benchmark)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/motion_benchmark')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--num-test', type=int, default=600)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    wanted = dict(version=GENERATOR_VERSION, seed=args.seed,
                  num_train=args.num_train, num_val=args.num_val,
                  num_test=args.num_test)
    meta_path = osp.join(args.out, META_FILE)
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if all(meta.get(key) == value for key, value in wanted.items()):
            print(f'{args.out}: complete, nothing to do')
            return
        sys.exit(f'{args.out} holds a benchmark made with other arguments '
                 f'({meta_path}); delete it or pick another --out')
    if osp.isdir(args.out) and os.listdir(args.out):
        sys.exit(f'{args.out} exists but is incomplete (no {META_FILE}); '
                 'delete it first')
    start = time.time()
    tmp = args.out.rstrip('/') + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    generate_motion_benchmark(tmp, num_train=args.num_train,
                              num_val=args.num_val, num_test=args.num_test,
                              seed=args.seed)
    if osp.isdir(args.out):
        os.rmdir(args.out)
    os.rename(tmp, args.out)
    print(f'wrote {args.out} in {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
