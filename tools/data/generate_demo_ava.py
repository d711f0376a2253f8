"""Write the demo AVA-style detection set (videos + official-format files).

``python tools/data/generate_demo_ava.py --out data/ava_demo``; the demo
config makes it on first use anyway (see mmvmae/datasets/demo_ava.py).
"""
import argparse
import sys

from mmvmae.datasets.demo_ava import ensure_demo_ava


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/ava_demo', help='folder')
    parser.add_argument('--num-train', type=int, default=8,
                        help='training videos')
    parser.add_argument('--num-val', type=int, default=4,
                        help='validation videos')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.num_train < 1 or args.num_val < 1:
        sys.exit('error: --num-train and --num-val must be >= 1')
    try:
        ensure_demo_ava(args.out, num_train=args.num_train,
                        num_val=args.num_val, seed=args.seed)
    except FileExistsError as err:
        sys.exit(f'error: {err}')
    print(f'demo AVA set at {args.out}')


if __name__ == '__main__':
    main()
