"""Video list dataset: "path" lines (unlabeled) or "path label" lines."""
import os.path as osp
from typing import List

from mmaction.datasets import VideoDataset
from mmengine.fileio import list_from_file

from mmvmae.registry import DATASETS

UNLABELED = -1


@DATASETS.register_module()
class VideoListDataset(VideoDataset):
    """A :class:`mmaction.datasets.VideoDataset` with a strict list format.

    Each non-empty line of ``ann_file`` is either ``path`` (unlabeled, for
    pretraining; the sample gets ``label = -1``) or ``path label`` with an
    int label (mmaction2's format; ``path label label ...`` when
    ``multi_class=True``). Paths are relative to ``data_prefix['video']``
    (itself relative to ``data_root``). A file may not mix labelled and
    unlabeled lines, and ``multi_class=True`` needs labels and
    ``num_classes``. A malformed line raises a ``ValueError`` naming the
    file and line number. Takes every argument of ``VideoDataset``.
    """

    def load_data_list(self) -> List[dict]:
        """Parse ``ann_file`` into ``[dict(filename=..., label=...)]``."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: ann_file {self.ann_file} not found')
        if self.multi_class and self.num_classes is None:
            raise ValueError(f'{type(self).__name__}: multi_class=True '
                             'needs num_classes (the length of the one-hot '
                             'labels)')
        data_list = []
        labelled = None  # whether the first line has a label
        for number, line in enumerate(list_from_file(self.ann_file), 1):
            if not line.strip():
                continue
            where = f'{self.ann_file}, line {number} ({line.strip()!r})'
            fields = line.split() if self.delimiter == ' ' else [
                field.strip() for field in line.strip().split(self.delimiter)]
            if len(fields) > 2 and not self.multi_class:
                raise ValueError(
                    f'{where}: expected "path" or "path label" (paths may '
                    f'not contain the delimiter {self.delimiter!r}; '
                    'several labels need multi_class=True)')
            labels = [self._parse_label(field, where) for field in fields[1:]]
            labelled = bool(labels) if labelled is None else labelled
            if labelled != bool(labels):
                raise ValueError(
                    f'{where}: the file mixes labelled and unlabeled lines')
            if not labels and self.multi_class:
                # mmaction2 would one-hot -1 as the last class
                raise ValueError(f'{where}: no label, but multi_class=True '
                                 '(unlabeled lists are for pretraining)')
            if not labels:
                label = UNLABELED
            elif self.multi_class:
                label = labels
            else:
                label = labels[0]
            filename = fields[0]
            if self.data_prefix.get('video'):
                filename = osp.join(self.data_prefix['video'], filename)
            data_list.append(dict(filename=filename, label=label))
        if not data_list:
            raise ValueError(f'{self.ann_file} lists no videos')
        return data_list

    def _parse_label(self, field: str, where: str) -> int:
        try:
            label = int(field)
        except ValueError:
            raise ValueError(
                f'{where}: label {field!r} is not an int') from None
        if label < 0 or (self.num_classes is not None
                         and label >= self.num_classes):
            allowed = f'in [0, {self.num_classes})' if self.num_classes \
                else 'at least 0'
            raise ValueError(f'{where}: label {label} is not {allowed}')
        return label
