"""Build the list files of ``VideoListDataset`` ("path label" or "path" lines).

Sources (sub-commands):

- ``folder ROOT``: a folder-per-class tree ``ROOT/<class>/**/<video>``;
  classes sorted by name, label = index; ``--unlabeled`` for pretraining,
  ``--val-ratio`` for a random, stratified train/val split.
- ``ssv2 --ann something-something-v2-train.json --labels
  something-something-v2-labels.json``: label = the index of the template
  (``[something]`` -> ``something``); paths ``<id>.webm``. An annotation
  without templates (the test set) gives an unlabeled list; one where only
  some entries have a template is refused.
- ``ucf101 --splits-dir ucfTrainTestlist --split 1``: ``classInd.txt``,
  ``trainlist0N.txt``, ``testlist0N.txt``; labels are ``classInd - 1``.
- ``hmdb51 --splits-dir testTrainMulti_7030_splits --split 1``: the
  ``<class>_test_split<N>.txt`` files (1 = train, 2 = test, 0 = unused);
  classes sorted by name.

Paths in the lists are relative to the video folder (``data_prefix``).
"""
import argparse
import glob
import json
import os
import os.path as osp
import random
import sys
from typing import Dict, List, Optional, Tuple

VIDEO_EXTS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.flv')
Entry = Tuple[str, Optional[int]]  # (relative path, label or None)


class ListError(ValueError):
    """A malformed or missing annotation file."""


def _lines(path: str) -> List[Tuple[int, str]]:
    if not osp.isfile(path):
        raise ListError(f'no file at {path}')
    with open(path, encoding='utf-8') as f:
        return [(n, line.strip()) for n, line in enumerate(f, 1)
                if line.strip()]


def from_folder(root: str) -> Tuple[List[Entry], List[str]]:
    """Every video under ``root/<class>/``; returns entries and classes."""
    if not osp.isdir(root):
        raise ListError(f'no folder at {root}')
    classes = sorted(d for d in os.listdir(root)
                     if osp.isdir(osp.join(root, d)))
    entries = []
    for label, name in enumerate(classes):
        for folder, _, files in sorted(os.walk(osp.join(root, name))):
            entries += [(osp.relpath(osp.join(folder, f), root), label)
                        for f in sorted(files)
                        if f.lower().endswith(VIDEO_EXTS)]
    if not entries:
        raise ListError(f'no videos ({", ".join(VIDEO_EXTS)}) in class '
                        f'folders under {root}')
    empty = [f'{label} {name}' for label, name in enumerate(classes)
             if all(entry_label != label for _, entry_label in entries)]
    if empty:  # still classes: the labels after them keep their numbers
        print(f'warning: {len(empty)} class folder(s) under {root} hold no '
              'videos; their labels stay in the class list and count in '
              'num_classes (remove the folders if they are not classes): '
              + ', '.join(empty[:5]), file=sys.stderr)
    return entries, classes


def split_val(entries: List[Entry], ratio: float,
              seed: int) -> Tuple[List[Entry], List[Entry]]:
    """Random ``ratio`` of every class (at least one if it has two or
    more videos) goes to val."""
    by_class: Dict[int, List[Entry]] = {}
    for entry in entries:
        by_class.setdefault(entry[1], []).append(entry)
    rng = random.Random(seed)
    train, val = [], []
    for items in by_class.values():
        rng.shuffle(items)
        count = round(len(items) * ratio)
        count = min(max(count, 1 if len(items) > 1 else 0), len(items) - 1)
        val += items[:count]
        train += items[count:]
    return sorted(train), sorted(val)


def from_ssv2(ann: str, labels: str, ext: str) -> List[Entry]:
    """Entries of a Something-Something V2 annotation json."""
    try:
        with open(labels, encoding='utf-8') as f:
            label_map = {k: int(v) for k, v in json.load(f).items()}
        with open(ann, encoding='utf-8') as f:
            items = json.load(f)
    except (OSError, ValueError) as err:
        raise ListError(f'cannot read the SSv2 json files: {err}') from None
    entries = []
    for i, item in enumerate(items):
        if 'id' not in item:
            raise ListError(f'{ann}: entry {i} has no "id": {item}')
        label = None
        if 'template' in item:
            template = item['template'].replace('[', '').replace(']', '')
            if template not in label_map:
                raise ListError(f'{ann}: entry {i} (id {item["id"]}): '
                                f'template {template!r} not in {labels}')
            label = label_map[template]
        entries.append((f'{item["id"]}{ext}', label))
    labeled = [item['id'] for item in items if 'template' in item]
    unlabeled = [item['id'] for item in items if 'template' not in item]
    if labeled and unlabeled:  # a list may not mix the two kinds
        raise ListError(f'{ann}: {len(labeled)} entries have a "template" '
                        f'(e.g. id {labeled[0]}), {len(unlabeled)} do not '
                        f'(e.g. id {unlabeled[0]}); a list is all labeled '
                        'or all unlabeled: split the annotation')
    return entries


def ucf101_classes(splits_dir: str) -> Dict[str, int]:
    path = osp.join(splits_dir, 'classInd.txt')
    classes = {}
    for number, line in _lines(path):
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit():
            raise ListError(f'{path}, line {number}: expected "index '
                            f'ClassName", got {line!r}')
        classes[fields[1]] = int(fields[0]) - 1
    return classes


def from_ucf101(splits_dir: str, split: int) -> Dict[str, List[Entry]]:
    """``{'train': [...], 'val': [...]}`` of one official split."""
    classes = ucf101_classes(splits_dir)
    out = {}
    for part, name in (('train', 'trainlist'), ('val', 'testlist')):
        path = osp.join(splits_dir, f'{name}{split:02d}.txt')
        entries = []
        for number, line in _lines(path):
            video = line.split()[0]
            name_ = video.split('/')[0]
            if name_ not in classes:
                raise ListError(f'{path}, line {number}: class {name_!r} '
                                'not in classInd.txt')
            entries.append((video, classes[name_]))
        out[part] = entries
    return out


def from_hmdb51(splits_dir: str, split: int) -> Dict[str, List[Entry]]:
    """``{'train': [...], 'val': [...]}`` of one official split."""
    suffix = f'_test_split{split}.txt'
    files = sorted(glob.glob(osp.join(splits_dir, f'*{suffix}')))
    if not files:
        raise ListError(f'no *{suffix} files in {splits_dir}')
    # label = the index of the class name in name order (as mmaction2);
    # not the file order: '_' sorts before 't', so climb_stairs_test_...
    # would come before climb_test_...
    names = {osp.basename(path)[:-len(suffix)]: path for path in files}
    out = {'train': [], 'val': []}
    for label, name in enumerate(sorted(names)):
        path = names[name]
        for number, line in _lines(path):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in ('0', '1', '2'):
                raise ListError(f'{path}, line {number}: expected "video.avi '
                                f'0|1|2", got {line!r}')
            part = {'1': 'train', '2': 'val'}.get(fields[1])
            if part:
                out[part].append((f'{name}/{fields[0]}', label))
    return out


def check_paths(entries: List[Entry]) -> None:
    for video, _ in entries:
        if ' ' in video:
            raise ListError(f'path {video!r} contains a space; rename it '
                            '(list files are space separated)')


def write_list(path: str, entries: List[Entry], unlabeled: bool) -> None:
    """Checked first, written to a temporary file, then renamed: an error
    leaves an earlier list as it was."""
    from mmvmae.utils.atomic_write import atomic_file
    check_paths(entries)
    with atomic_file(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
        for video, label in entries:
            keep = unlabeled or label is None
            f.write(f'{video}\n' if keep else f'{video} {label}\n')
    print(f'wrote {len(entries)} videos to {path}')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='source', required=True)
    folder = sub.add_parser('folder', help='folder-per-class tree')
    folder.add_argument('root', help='ROOT with one folder per class')
    folder.add_argument('--out', required=True, help='list file to write')
    folder.add_argument('--classes-out', help='also write the class names')
    folder.add_argument('--unlabeled', action='store_true',
                        help='paths only (pretraining)')
    folder.add_argument('--val-ratio', type=float, default=0.,
                        help='fraction of each class for --val-out')
    folder.add_argument('--val-out', help='val list file')
    folder.add_argument('--seed', type=int, default=0)
    ssv2 = sub.add_parser('ssv2', help='Something-Something V2 json')
    ssv2.add_argument('--ann', required=True, help='e.g. '
                      'something-something-v2-train.json')
    ssv2.add_argument('--labels', required=True,
                      help='something-something-v2-labels.json')
    ssv2.add_argument('--ext', default='.webm', help='video extension')
    ssv2.add_argument('--out', required=True)
    for name in ('ucf101', 'hmdb51'):
        p = sub.add_parser(name, help=f'{name.upper()} official split files')
        p.add_argument('--splits-dir', required=True)
        p.add_argument('--split', type=int, choices=(1, 2, 3), default=1)
        p.add_argument('--out-dir', required=True,
                       help=f'writes {name}_{{train,val}}_split_N_videos.txt'
                       ' (the names the configs read)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        if args.source == 'folder':
            if not 0 <= args.val_ratio < 1:
                raise ListError(f'--val-ratio must be in [0, 1), got '
                                f'{args.val_ratio}')
            if (args.val_ratio > 0) != bool(args.val_out):
                raise ListError('--val-ratio and --val-out go together')
            outs = [osp.realpath(p) for p in (args.out, args.val_out,
                                              args.classes_out) if p]
            if len(set(outs)) < len(outs):
                raise ListError('--out, --val-out and --classes-out must be '
                                'different files')
            entries, classes = from_folder(args.root)
            check_paths(entries)  # before any file is written
            if args.val_out:
                entries, val = split_val(entries, args.val_ratio, args.seed)
                write_list(args.val_out, val, args.unlabeled)
            write_list(args.out, entries, args.unlabeled)
            if args.classes_out:
                with open(args.classes_out, 'w', encoding='utf-8') as f:
                    f.write('\n'.join(classes) + '\n')
                print(f'wrote {len(classes)} classes to {args.classes_out}')
        elif args.source == 'ssv2':
            write_list(args.out, from_ssv2(args.ann, args.labels, args.ext),
                       False)
        else:
            parse = from_ucf101 if args.source == 'ucf101' else from_hmdb51
            for part, entries in parse(args.splits_dir, args.split).items():
                write_list(osp.join(args.out_dir, f'{args.source}_{part}_'
                                    f'split_{args.split}_videos.txt'),
                           entries, False)
    except ListError as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
