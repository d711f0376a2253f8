"""The generated demo dataset, made on first use."""
from mmvmae.registry import DATASETS
from .demo_data import ensure_demo_dataset
from .video_list_dataset import VideoListDataset


@DATASETS.register_module()
class DemoVideoDataset(VideoListDataset):
    """:class:`VideoListDataset` over the demo videos of ``demo_data``.

    Generates the dataset at ``data_root`` first if it is absent, so demo
    configs run without a download.

    Args:
        ann_file: list file inside ``data_root``: ``'train.txt'``,
            ``'val.txt'`` (labelled, 4 motion classes) or ``'unlabeled.txt'``.
        data_root: dataset folder. Defaults to ``'data/demo'``.
        **kwargs: other arguments of :class:`VideoListDataset`.
    """
    generates_data = True  # its files appear when it is built (data_check)

    def __init__(self,
                 ann_file: str = 'train.txt',
                 data_root: str = 'data/demo',
                 **kwargs) -> None:
        ensure_demo_dataset(data_root)
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)
