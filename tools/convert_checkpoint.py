"""Convert VideoMAE checkpoints between the authors' releases, mmaction2,
Hugging Face and mmvmae.

    python tools/convert_checkpoint.py SRC DST [--from auto] [--to mmvmae]

SRC: a .pth/.pt/.bin/.safetensors file or a Hugging Face model directory.
DST: a .pth file (``--to mmvmae``) or a directory (``--to hf``), not named
for the other (e.g. ``.safetensors`` for ``--to mmvmae``); never SRC, an
existing one only with ``--overwrite``; missing folders are created.
See docs/checkpoint_conversion.md.
"""
import argparse
import pprint
import sys

from mmengine.config import Config

from mmvmae.convert import ConversionError, convert_checkpoint
from mmvmae.convert.converter import SOURCE_FORMATS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='source checkpoint file or HF directory')
    parser.add_argument('dst', help='output .pth file or HF directory '
                        '(missing folders are created)')
    parser.add_argument('--from', dest='src_format', default='auto',
                        choices=SOURCE_FORMATS,
                        help='source layout (default: detect it)')
    parser.add_argument('--to', dest='dst_format', default='mmvmae',
                        choices=('mmvmae', 'hf'))
    parser.add_argument('--num-heads', type=int,
                        help='encoder heads, if the source does not state '
                        'them (the weights do not tell; original layouts: '
                        'the releases of that width by default); a value '
                        'that contradicts config.json or meta.arch / '
                        'meta.cfg is an error')
    parser.add_argument('--decoder-num-heads', type=int,
                        help='decoder heads, likewise')
    parser.add_argument('--layer-norm-eps', type=float,
                        help='override the LayerNorm eps of every norm')
    parser.add_argument('--img-size', type=int,
                        help='input size the model is used at (default: from '
                        'the source, else 224)')
    parser.add_argument('--num-frames', type=int,
                        help='input frames (default: from the source, '
                        'else 16)')
    parser.add_argument('--allow-zero-qv-bias', action='store_true',
                        help='accept a checkpoint whose q/v biases are all '
                        'zero (normally a sign they were lost)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing DST file (or the '
                        'config.json and model.safetensors of a non-empty '
                        'DST directory); DST can never be SRC')
    parser.add_argument('--verbose', action='store_true',
                        help='list every mapped tensor')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    options = dict(num_heads=args.num_heads,
                   decoder_num_heads=args.decoder_num_heads,
                   layer_norm_eps=args.layer_norm_eps,
                   img_size=args.img_size, num_frames=args.num_frames,
                   allow_zero_qv_bias=args.allow_zero_qv_bias)
    try:
        ckpt, reports = convert_checkpoint(args.src, args.dst,
                                           args.src_format, args.dst_format,
                                           overwrite=args.overwrite,
                                           **options)
    except (ConversionError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for report in reports:
        print(report.format(verbose=args.verbose))
    arch = ckpt['meta']['arch']
    print('architecture:', pprint.pformat(
        {k: v for k, v in arch.items() if k != 'id2label'}, sort_dicts=False))
    print('mmvmae model config:')
    print(Config(dict(model=ckpt['meta']['model_config'])).pretty_text)
    print(f'wrote {args.dst} ({args.dst_format})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
