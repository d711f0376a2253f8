"""Picture of a masked clip and its reconstruction by a pretraining model.

``python tools/visualize_reconstruction.py VIDEO CONFIG CHECKPOINT
--out recon.png [--gif recon.gif]``

The PNG has rows original / masked input / reconstruction over time. The
caption states whether predicted patches re-use the original patch mean/std
(as the normalised-pixel target requires), so nobody takes them for the
model's own colours.
"""
import argparse
import os
import os.path as osp
import sys

from mmvmae.utils.config_check import CfgOptionsAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Mask a clip, reconstruct it with a VideoMAE '
        'pretraining model, save a PNG grid (and a GIF)')
    parser.add_argument('video', help='video file')
    parser.add_argument('config', help='pretraining config (VideoMAE)')
    parser.add_argument('checkpoint', help='checkpoint file or work dir')
    parser.add_argument('--out', default='reconstruction.png',
                        help='PNG file to write (default reconstruction.png)')
    parser.add_argument('--gif', help='also write an animated GIF here')
    parser.add_argument('--mask-ratio', type=float, default=0.9,
                        help='fraction of tokens hidden (default 0.9)')
    parser.add_argument('--mask-type', choices=('tube', 'random'),
                        default='tube', help='default tube')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the mask (default 0)')
    parser.add_argument('--max-frames', type=int, default=8,
                        help='frames (columns) in the PNG (default 8)')
    parser.add_argument('--device', default=None,
                        help="e.g. 'cuda:0' or 'cpu'")
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not args.out.lower().endswith('.png'):
        sys.exit(f'error: --out must end with .png, got {args.out}')
    if args.gif and not args.gif.lower().endswith('.gif'):
        sys.exit(f'error: --gif must end with .gif, got {args.gif}')
    if args.max_frames < 1:
        sys.exit(f'error: --max-frames must be >= 1, got {args.max_frames}')
    if not 0 < args.mask_ratio < 1:
        sys.exit('error: --mask-ratio: mask_ratio must be in the open '
                 f'interval (0, 1), got {args.mask_ratio}')
    from mmvmae.apis import (VideoReadError, check_video_file, init_model,
                             reconstruct)
    from mmvmae.visualization import (save_reconstruction_gif,
                                      save_reconstruction_png)
    try:
        check_video_file(args.video)
        model = init_model(args.config, args.checkpoint, args.device,
                           args.cfg_options)
        result = reconstruct(model, args.video, args.mask_ratio,
                             args.mask_type, args.seed)
    except (FileNotFoundError, ValueError, TypeError,
            VideoReadError) as err:
        sys.exit(f'error: {err}')
    for path in (args.out, args.gif):
        if path:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    save_reconstruction_png(result, args.out, max_frames=args.max_frames)
    print(f'saved {args.out}')
    if args.gif:
        save_reconstruction_gif(result, args.gif)
        print(f'saved {args.gif}')
    stats = ('re-use the ORIGINAL patch mean/std (normalised-pixel target)'
             if result.uses_original_patch_stats else
             'are raw predictions (no original patch statistics)')
    print(f'{result.mask.mean():.0%} of tokens hidden; predicted patches '
          f'{stats}')


if __name__ == '__main__':
    main()
