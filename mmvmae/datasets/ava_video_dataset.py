"""AVA annotations over video files instead of extracted frames."""
import os.path as osp
from typing import Optional, Sequence

from mmaction.datasets import AVADataset

from mmvmae.registry import DATASETS

VIDEO_EXTS = ('.mp4', '.mkv', '.webm', '.avi')


@DATASETS.register_module()
class AVAVideoDataset(AVADataset):
    """:class:`mmaction.datasets.AVADataset` reading ``<video_id><ext>`` files.

    Annotation, exclusion, label and proposal files are the official AVA
    ones (parsed by mmaction2). Each sample gets ``filename`` (the video),
    ``timestamp`` and ``timestamp_start``; pair it with ``DecordInit`` ->
    :class:`SampleAVAVideoFrames` -> ``DecordDecode``.

    Args:
        data_prefix: ``dict(video=folder)`` holding the videos.
        video_exts: extensions tried in order for each video id (AVA mixes
            .mp4, .mkv and .webm).
        timestamp_start: second at which the video files start: 900 for
            mmaction2's 15-minute cuts (``videos_15min``), 0 for the
            originals.
        **kwargs: other arguments of ``AVADataset`` (``ann_file``,
            ``exclude_file``, ``label_file``, ``proposal_file``,
            ``person_det_score_thr``, ``num_classes``, ``custom_classes``,
            ``pipeline``, ``test_mode`` ...).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: Sequence,
                 data_prefix: Optional[dict] = None,
                 video_exts: Sequence[str] = VIDEO_EXTS,
                 timestamp_start: int = 900,
                 **kwargs) -> None:
        prefix = dict(data_prefix or dict(video=''))
        if 'video' not in prefix:
            raise ValueError('AVAVideoDataset: data_prefix needs a "video" '
                             f'folder, got keys {sorted(prefix)}')
        if isinstance(video_exts, str):
            video_exts = (video_exts, )
        self.video_exts = tuple(video_exts)
        prefix.setdefault('img', prefix['video'])
        super().__init__(ann_file, pipeline, data_prefix=prefix,
                         use_frames=False, timestamp_start=timestamp_start,
                         **kwargs)

    def load_data_list(self) -> list:
        """mmaction2's records, with ``filename`` = the video folder + id."""
        data_list = super().load_data_list()
        for info in data_list:
            info['filename'] = osp.join(self.data_prefix['video'],
                                        info['video_id'])
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        stem = info['filename']
        for ext in self.video_exts:
            if osp.isfile(stem + ext):
                info['filename'] = stem + ext
                return info
        raise FileNotFoundError(
            f'no video for AVA id {info["video_id"]}: tried {stem}'
            f'{{{",".join(self.video_exts)}}} (data_prefix.video, '
            'video_exts)')
