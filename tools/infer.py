"""Classify one video: ``python tools/infer.py VIDEO CONFIG CHECKPOINT``.

Prints the top-5 classes with their scores (softmax averaged over the test
views of the config). Any video decord can read works: any resolution,
length or frame rate; a video shorter than the sampling span loops.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import DictAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Print the top-k classes of a video with a fine-tuned '
        'recognizer')
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('checkpoint', help='checkpoint file or work dir')
    parser.add_argument('--label-map', help='text file with one class name '
                        'per line, line i = class i (e.g. data/demo/'
                        'classes.txt); default: print class indices')
    parser.add_argument('--top-k', type=int, default=5,
                        help='how many classes to print (default 5)')
    parser.add_argument('--device', default=None,
                        help="e.g. 'cuda:0' or 'cpu' (default: cuda:0 if "
                        'available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def read_label_map(path: Optional[str], num_classes: int) -> List[str]:
    """Class names, one per line; indices when ``path`` is None."""
    if path is None:
        return [str(i) for i in range(num_classes)]
    if not osp.isfile(path):
        raise FileNotFoundError(f'--label-map: no file at {path}')
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if len(names) != num_classes:
        raise ValueError(f'--label-map: {path} has {len(names)} names, the '
                         f'model predicts {num_classes} classes')
    return names


def main() -> None:
    args = parse_args()
    if args.top_k < 1:
        sys.exit('error: --top-k must be >= 1')
    from mmvmae.apis import (VideoReadError, check_video_file,
                             inference_recognizer, init_model)
    try:
        check_video_file(args.video)  # fail fast, before building
        model = init_model(args.config, args.checkpoint, args.device,
                           args.cfg_options)
        # check the label map before the (long) inference where the head
        # says how many classes it predicts
        num_classes = getattr(getattr(model, 'cls_head', None),
                              'num_classes', None)
        names = read_label_map(args.label_map, num_classes) \
            if num_classes else None
        scores = inference_recognizer(model, args.video).pred_score.cpu()
        names = names or read_label_map(args.label_map, len(scores))
    except (FileNotFoundError, ValueError, TypeError, VideoReadError) as err:
        sys.exit(f'error: {err}')
    top = scores.topk(min(args.top_k, len(scores)))
    print(f'top-{len(top.indices)} classes of {args.video}:')
    for rank, (score, index) in enumerate(zip(top.values, top.indices), 1):
        print(f'{rank}. {names[index]}: {score:.4f}')


if __name__ == '__main__':
    main()
