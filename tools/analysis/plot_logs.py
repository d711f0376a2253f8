"""Plot training curves (loss, lr, accuracy, ...) from mmengine's json logs.

``python tools/analysis/plot_logs.py work_dirs/RUN [work_dirs/RUN2 ...]
--out curves.png [--keys loss lr acc/top1]``

Each input is a ``scalars.json`` file or a work dir (every
``<timestamp>/vis_data/scalars.json`` in it, oldest first, so a resumed run
continues its curve; a log that starts before the earlier ones end, as a
run started over with ``--overwrite`` does, replaces them from its first
step on). Training values are plotted over iterations,
validation metrics over epochs. Default keys: ``loss``, ``lr`` and every
validation metric found.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

Series = Dict[str, Dict[int, float]]  # key -> {step: value}
_NOT_METRICS = ('time', 'data_time', 'step', 'epoch', 'iter')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot loss / lr / accuracy curves from mmengine logs')
    parser.add_argument('inputs', nargs='+',
                        help='work dirs or vis_data/scalars.json files')
    parser.add_argument('--keys', nargs='+',
                        help='scalars to plot (default: loss, lr and every '
                        'validation metric)')
    parser.add_argument('--legend', nargs='+',
                        help='one name per input (default: the paths)')
    parser.add_argument('--out', default='curves.png',
                        help='PNG file to write (default curves.png)')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args()


def log_files(path: str) -> List[str]:
    """The ``scalars.json`` files of a work dir (oldest first), or
    ``[path]``."""
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{path}: not a scalars.json file nor a work dir with '
            '<timestamp>/vis_data/scalars.json')
    return files


def read_records(file: str) -> List[dict]:
    """The json lines of one ``scalars.json``."""
    records = []
    with open(file, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f'{file}, line {number}: not json '
                                 f'({err})') from None
    return records


def load_series(path: str) -> Tuple[Series, Series]:
    """``(train, val)`` series of one input; train lines (with ``iter``) are
    keyed by iteration, validation lines by epoch (by iteration in an
    iteration-based run). A later log takes over from where its run starts:
    the values an earlier log holds from that step on (a run resumed from
    an earlier checkpoint, or started over with ``--overwrite``) are
    dropped, with a note."""
    train, val = {}, {}
    for file in log_files(path):
        records = read_records(file)
        first = next((r for r in records if 'iter' in r), None)
        if first is not None:
            start = int(first['iter'])
            val_start = int(first['epoch']) if 'epoch' in first else start
            last = max((max(steps) for steps in train.values()), default=0)
            if start <= last:
                print(f'note: {file} starts at iteration {start}, where '
                      f'the earlier logs had reached {last}: its values '
                      'replace theirs from there on (a resume from a '
                      'checkpoint before the end of the earlier logs, or a '
                      'run started over)', flush=True)
            for series, cut in ((train, start), (val, val_start)):
                for steps in series.values():
                    for step in [s for s in steps if s >= cut]:
                        del steps[step]
        for record in records:
            target = train if 'iter' in record else val
            step = int(record['iter'] if 'iter' in record else
                       record.get('step', 0))
            for key, value in record.items():
                if key not in _NOT_METRICS and isinstance(
                        value, (int, float)):
                    target.setdefault(key, {})[step] = float(value)
    for series in (train, val):  # keys only the dropped values had
        for key in [k for k, steps in series.items() if not steps]:
            del series[key]
    return train, val


def default_keys(runs: List[Tuple[Series, Series]]) -> List[str]:
    keys = []
    for train, val in runs:
        keys += [k for k in ('loss', 'lr') if k in train]
        keys += sorted(val)
    return list(dict.fromkeys(keys))


def plot(runs: List[Tuple[Series, Series]], names: List[str],
         keys: List[str], out: str, title: str = None) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.6 * len(keys)),
                             squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for (train, val), name in zip(runs, names):
            for series, x_label in ((train, 'iteration'), (val, 'epoch')):
                if key in series:
                    steps = sorted(series[key])
                    ax.plot(steps, [series[key][s] for s in steps],
                            marker='o' if x_label == 'epoch' else None,
                            markersize=3, label=name)
                    ax.set_xlabel(x_label)
        ax.set_ylabel(key)
        if key == 'lr':
            ax.ticklabel_format(axis='y', style='sci', scilimits=(-3, 3))
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    if not args.out.lower().endswith('.png'):
        sys.exit(f'error: --out must end with .png, got {args.out}')
    if args.legend and len(args.legend) != len(args.inputs):
        sys.exit(f'error: --legend needs {len(args.inputs)} names, got '
                 f'{len(args.legend)}')
    try:
        runs = [load_series(path) for path in args.inputs]
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    available = sorted({k for train, val in runs for k in (*train, *val)})
    keys = args.keys or default_keys(runs)
    unknown = [k for k in keys if k not in available]
    if unknown or not keys:
        sys.exit(f'error: --keys {unknown or keys} not in the logs; '
                 f'available: {available}')
    plot(runs, args.legend or args.inputs, keys, args.out, args.title)
    print(f'saved {args.out} ({", ".join(keys)})')


if __name__ == '__main__':
    main()
