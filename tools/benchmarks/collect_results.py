"""Tabulate the data-efficiency benchmark and keep its logs.

    python tools/benchmarks/collect_results.py [--work WORK_DIR]

Reads the test metrics of every finished run under ``--work``, prints a
markdown table (top-1 and mean class accuracy over 2x3 views on the test
split), and copies each run's training and test logs (small text files) to
``--logs``/<run>/{train,test}.log for the docs to link to.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
from typing import List, Optional

CONFIGS = 'configs/benchmarks/data_efficiency'
# (run, labels, initialisation, config)
RUNS = (
    ('scratch_100pct', '100%', 'scratch', 'vit-tiny_motion-scratch_100pct'),
    ('finetune_100pct', '100%', 'VideoMAE, mask 0.75',
     'vit-tiny_motion-finetune_100pct'),
    ('scratch_10pct', '10%', 'scratch', 'vit-tiny_motion-scratch_10pct'),
    ('finetune_10pct', '10%', 'VideoMAE, mask 0.75',
     'vit-tiny_motion-finetune_10pct'),
    ('finetune_100pct_mask0.5', '100%', 'VideoMAE, mask 0.5',
     'vit-tiny_motion-finetune_100pct'),
    ('finetune_100pct_mask0.9', '100%', 'VideoMAE, mask 0.9',
     'vit-tiny_motion-finetune_100pct'),
)
PRETRAIN_RUNS = ('pretrain_mask0.5', 'pretrain_mask0.75', 'pretrain_mask0.9')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work', default='work_dirs/data_efficiency')
    parser.add_argument('--logs', default='docs/data_efficiency/logs')
    parser.add_argument('--link-prefix', default='data_efficiency/logs',
                        help='log links in the table, relative to the doc')
    return parser.parse_args()


def latest(pattern: str) -> Optional[str]:
    """The last match of ``pattern`` in name order (mmengine timestamps)."""
    matches = sorted(glob.glob(pattern))
    return matches[-1] if matches else None


def keep_log(src: Optional[str], logs: str, run: str, name: str) -> None:
    if src is None:
        return
    os.makedirs(osp.join(logs, run), exist_ok=True)
    shutil.copyfile(src, osp.join(logs, run, name))


def train_log(work: str, run: str) -> Optional[str]:
    return latest(osp.join(work, run, '[0-9]*_[0-9]*', '[0-9]*.log'))


def command(run: str, config: str, work: str) -> str:
    cmd = (f'python tools/train.py {CONFIGS}/{config}.py '
           f'--work-dir {work}/{run}')
    if run.startswith('finetune'):  # the encoder of $WORK's pretraining
        ratio = run.rsplit('_mask', 1)[1] if '_mask' in run else '0.75'
        cmd += (' --cfg-options model.backbone.init_cfg.checkpoint='
                f'{work}/pretrain_mask{ratio}')
    return cmd


def final_loss(log: str) -> Optional[float]:
    """The last ``loss: x`` of a training log."""
    loss = None
    with open(log) as f:
        for line in f:
            if 'Epoch(train)' in line and ' loss: ' in line:
                loss = float(line.split(' loss: ')[1].split()[0])
    return loss


def main() -> None:
    args = parse_args()
    rows: List[str] = [
        '| labels | init | top-1 (%) | mean class acc (%) | train log | '
        'test log | command |', '| --- | --- | --- | --- | --- | --- | --- |'
    ]
    for run, labels, init, config in RUNS:
        metrics = latest(osp.join(args.work, run, 'test', '*', '*.json'))
        if metrics is None:
            continue
        with open(metrics) as f:
            result = json.load(f)
        keep_log(train_log(args.work, run), args.logs, run, 'train.log')
        keep_log(metrics[:-len('.json')] + '.log', args.logs, run, 'test.log')
        link = f'{args.link_prefix}/{run}'
        rows.append(
            f"| {labels} | {init} | {100 * result['acc/top1']:.1f} | "
            f"{100 * result['acc/mean1']:.1f} | [train]({link}/train.log) | "
            f'[test]({link}/test.log) | `{command(run, config, args.work)}` |')
    print('\n'.join(rows))
    print('\n| pretraining | final loss | train log | command |\n'
          '| --- | --- | --- | --- |')
    for run in PRETRAIN_RUNS:
        log = train_log(args.work, run)
        if log is None:
            continue
        keep_log(log, args.logs, run, 'train.log')
        config = f'vit-tiny_motion-{run}'
        print(f'| {run} | {final_loss(log)} | '
              f'[train]({args.link_prefix}/{run}/train.log) | '
              f'`{command(run, config, args.work)}` |')


if __name__ == '__main__':
    main()
