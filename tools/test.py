"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--dump X.pkl]``."""
import argparse
import os
import os.path as osp


import mmvmae
from mmvmae.engine.runner_setup import (build_runner_for, load_config,
                                        merge_common_args)
from mmvmae.models.utils.pretrained_loader import resolve_checkpoint
from mmvmae.utils.config_check import (CfgOptionsAction,
                                       exit_on_unknown_type)
from mmvmae.utils.data_check import check_data_files


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test an mmvmae model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file, or a work dir '
                        '(its last_checkpoint is used)')
    parser.add_argument('--work-dir', help='where to save logs and metrics '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--dump', type=str,
                        help='dump the predictions to this .pkl file: a list '
                        'with one dict per test sample')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        help='override config settings, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def check_dump_path(path: str) -> bool:
    """Whether ``--dump`` replaces an existing file; a path mmengine's
    DumpResults could not write to is a one-line error now, not a traceback
    after the whole test (missing parent folders it creates)."""
    if osp.isdir(path):
        raise SystemExit(f'error: --dump {path} is a folder; give a file '
                         'path ending with .pkl or .pickle')
    parent = osp.dirname(osp.abspath(path))
    while not osp.lexists(parent):  # the nearest existing parent
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        raise SystemExit(f'error: --dump {path}: {parent} is a file, not a '
                         'folder')
    return osp.lexists(path)


def main() -> None:
    args = parse_args()
    mmvmae.register_all_modules()
    cfg = load_config(args.config)
    # options first (as tools/train.py): the flags and the positional
    # checkpoint below win over them (--work-dir over work_dir=, the
    # checkpoint over load_from=); they address the evaluator as the
    # config writes it (before --dump adds DumpResults)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    missing = [key for key in ('test_dataloader', 'test_cfg',
                               'test_evaluator') if not cfg.get(key)]
    if missing:
        raise SystemExit(
            f'error: {args.config} has no {", ".join(missing)}: nothing to '
            'test (a pretraining config? test the fine-tuned model with its '
            'fine-tuning or detection config)')
    try:
        checkpoint_path = resolve_checkpoint(args.checkpoint)
    except FileNotFoundError as error:
        raise SystemExit(f'error: {error}') from None
    if not osp.isfile(checkpoint_path):
        raise SystemExit(f'error: no checkpoint file at {checkpoint_path}')
    if args.dump is not None and not args.dump.endswith(('.pkl', '.pickle')):
        raise SystemExit('error: --dump must end with .pkl or .pickle, got '
                         f'{args.dump}')
    replaces_dump = args.dump is not None and check_dump_path(args.dump)
    cfg = merge_common_args(cfg, args)
    cfg.load_from = checkpoint_path
    # the checkpoint's weights: with resume (a config that continues its
    # training) mmengine's test() would resume a training run from it
    cfg.resume = False
    if args.dump is not None:
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = [*evaluator, dump_metric]
        else:
            cfg.test_evaluator = [evaluator, dump_metric]
    check_data_files(cfg, ('test', ))
    with exit_on_unknown_type(cfg):
        runner = build_runner_for(cfg, checkpoint_path, training=False)
        if replaces_dump:
            runner.logger.warning(f'--dump: {args.dump} exists; this run '
                                  'replaces it')
        runner.test()


if __name__ == '__main__':
    main()
