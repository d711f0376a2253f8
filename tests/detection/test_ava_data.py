"""AVA annotations (the real samples), video clips read around keyframes and
the AVA pipelines with boxes."""
import csv
import pickle
from pathlib import Path

import decord
import numpy as np
import pytest
from mmaction.datasets import AVADataset
from mmengine.dataset import Compose

from mmvmae.datasets.demo_ava import ensure_demo_ava
from mmvmae.registry import DATASETS

SHARED = Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data'


@pytest.fixture(scope='module')
def ava_dir() -> Path:
    if not (SHARED / 'ava' / 'ava_sample.csv').is_file():
        pytest.skip(f'AVA samples not found under {SHARED}')
    return SHARED / 'ava'


def test_shared_ava_samples_parse(ava_dir):
    dataset = AVADataset(
        ann_file=str(ava_dir / 'ava_sample.csv'),
        exclude_file=str(ava_dir / 'ava_excluded_timestamps_sample.csv'),
        label_file=str(ava_dir / 'action_list.txt'),
        proposal_file=str(ava_dir / 'ava_proposals_sample.pkl'),
        pipeline=[], person_det_score_thr=0.9)
    # expected from the raw files: keyframes minus the excluded ones
    rows = list(csv.reader(open(ava_dir / 'ava_sample.csv')))
    excluded = {tuple(r) for r in csv.reader(
        open(ava_dir / 'ava_excluded_timestamps_sample.csv'))}
    keys = {(r[0], r[1]) for r in rows} - excluded
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert {(d['video_id'], f"{d['timestamp']:04d}") for d in infos} == keys
    proposals = pickle.load(open(ava_dir / 'ava_proposals_sample.pkl', 'rb'))
    for info in infos:
        mine = [r for r in rows if (r[0], r[1]) == (info['video_id'],
                                                   f"{info['timestamp']:04d}")]
        boxes = {tuple(map(float, r[2:6])) for r in mine}
        assert {tuple(b) for b in info['gt_bboxes'].tolist()} == boxes
        for box, label in zip(info['gt_bboxes'], info['gt_labels']):
            actions = {int(r[6]) for r in mine
                       if tuple(map(float, r[2:6])) == tuple(box)}
            assert set(np.flatnonzero(label)) == actions
        raw = proposals[info['img_key']]
        thr = min(0.9, raw[:, 4].max())
        np.testing.assert_allclose(info['proposals'], raw[raw[:, 4] >= thr,
                                                          :4])



def test_empty_proposal_set_gets_the_full_frame_box(ava_dir, tmp_path):
    """A keyframe listed with no proposal box is treated as one missing from
    the file (a full-frame box, score 1), not a crash (upstream_fixes)."""
    proposals = pickle.load(open(ava_dir / 'ava_proposals_sample.pkl', 'rb'))
    proposals = {key: np.zeros((0, 5), np.float32) for key in proposals}
    with open(tmp_path / 'empty.pkl', 'wb') as f:
        pickle.dump(proposals, f)
    dataset = AVADataset(
        ann_file=str(ava_dir / 'ava_sample.csv'),
        exclude_file=str(ava_dir / 'ava_excluded_timestamps_sample.csv'),
        label_file=str(ava_dir / 'action_list.txt'),
        proposal_file=str(tmp_path / 'empty.pkl'), pipeline=[],
        test_mode=True)
    info = dataset.get_data_info(0)
    np.testing.assert_array_equal(info['proposals'], [[0, 0, 1, 1]])
    np.testing.assert_array_equal(info['scores'], [1])

def _clip_ann(tmp_path: Path, timestamp: int) -> str:
    ann = tmp_path / 'ann.csv'
    ann.write_text(f'test,{timestamp:04d},0.1,0.2,0.5,0.9,3,0\n'
                   f'test,{timestamp:04d},0.1,0.2,0.5,0.9,7,0\n')
    return str(ann)


def test_video_dataset_reads_the_clip_around_the_keyframe(tmp_path):
    video = SHARED / 'videos' / 'test.mp4'  # 300 frames, 30 fps, 340x256
    if not video.is_file():
        pytest.skip(f'{video} not found')
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleAVAVideoFrames', clip_len=16, frame_interval=4,
             test_mode=True),
        dict(type='DecordDecode'),
    ]
    dataset = DATASETS.build(dict(
        type='AVAVideoDataset', ann_file=_clip_ann(tmp_path, 904),
        data_prefix=dict(video=str(video.parent)), pipeline=pipeline,
        timestamp_start=900, test_mode=True))
    results = dataset[0]
    centre = 4 * 30  # 4 s into the file at its 30 fps
    expected_inds = centre + 4 * (np.arange(16) - 8)
    np.testing.assert_array_equal(results['frame_inds'], expected_inds)
    reader = decord.VideoReader(str(video))
    direct = reader.get_batch(list(expected_inds)).asnumpy()
    np.testing.assert_array_equal(np.stack(results['imgs']), direct)
    # boxes in pixels of the 340x256 frames, multi-hot labels 3 and 7
    np.testing.assert_allclose(results['gt_bboxes'],
                               [[34., 51.2, 170., 230.4]], rtol=1e-5)
    assert set(np.flatnonzero(results['gt_labels'][0])) == {3, 7}


def test_video_dataset_errors_name_the_problem(tmp_path):
    dataset = DATASETS.build(dict(
        type='AVAVideoDataset', ann_file=_clip_ann(tmp_path, 904),
        data_prefix=dict(video=str(tmp_path)), pipeline=[]))
    with pytest.raises(FileNotFoundError,
                       match=r'AVA id test: tried .*test\{\.mp4'):
        dataset[0]
    sample = Compose([dict(type='SampleAVAVideoFrames')])
    with pytest.raises(ValueError, match='outside the video'):
        sample(dict(timestamp=960, timestamp_start=900, avg_fps=30.,
                    total_frames=300))
    with pytest.raises(KeyError, match='DecordInit'):
        sample(dict(timestamp=960, timestamp_start=900))


def _clip_inds(fps, seconds, total=1000, **kwargs):
    sample = Compose([dict(type='SampleAVAVideoFrames', clip_len=4,
                           frame_interval=4, **kwargs)])
    return sample(dict(timestamp=900 + seconds, timestamp_start=900,
                       avg_fps=fps, total_frames=total))['frame_inds']


def test_clip_indices_follow_the_video_frame_rate():
    """The keyframe and the stride come from the video's own rate (the
    stride is 4 frames at 30 fps, 2 at 15); each index is the nearest
    frame; the last second of a video still counts, later is refused."""
    np.testing.assert_array_equal(_clip_inds(30., 2, test_mode=True),
                                  [52, 56, 60, 64])
    np.testing.assert_array_equal(_clip_inds(15., 2, test_mode=True),
                                  [26, 28, 30, 32])
    # 29.97 fps: 29.97 + k * 3.996 -> 21.98, 25.97, 29.97, 33.97
    np.testing.assert_array_equal(_clip_inds(29.97, 1, test_mode=True),
                                  [22, 26, 30, 34])
    # 300 frames at 30 fps: 10.5 s is in the last second (clamped to the
    # last frame), 11.5 s is not
    np.testing.assert_array_equal(
        _clip_inds(30., 10.5, total=300, test_mode=True),
        [299, 299, 299, 299])
    with pytest.raises(ValueError, match='outside the video'):
        _clip_inds(30., 11.5, total=300, test_mode=True)


def test_training_jitters_each_frame_within_half_a_stride():
    np.random.seed(0)
    centre = _clip_inds(30., 2, test_mode=True)
    shifts = np.stack([_clip_inds(30., 2) - centre for _ in range(300)])
    assert np.abs(shifts).max() == 2  # stride 4: at most 2 frames away
    assert set(np.unique(shifts)) == {-2, -1, 0, 1, 2}
    assert abs(shifts.mean()) < 0.1
    assert (shifts[:, 0] != shifts[:, 1]).any()  # per frame, not per clip


def test_train_pipeline_keeps_boxes_scores_and_labels(tmp_path):
    root = ensure_demo_ava(str(tmp_path / 'demo'))
    # an existing set is reused only for the same settings
    assert ensure_demo_ava(root, num_train=8, seed=0) == root
    with pytest.raises(FileExistsError, match='num_train=8 there, '
                       'num_train=2 asked'):
        ensure_demo_ava(root, num_train=2)
    anno = f'{root}/annotations'
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleAVAVideoFrames', clip_len=4, frame_interval=6,
             base_fps=10),
        dict(type='DecordDecode'),
        dict(type='RandomRescale', scale_range=(72, 80)),
        dict(type='RandomCrop', size=64),
        dict(type='Flip', flip_ratio=1.0),
        dict(type='FormatShape', input_format='NCTHW', collapse=True),
        dict(type='PackAVAInputs'),
    ]
    dataset = DATASETS.build(dict(
        type='AVAVideoDataset', ann_file=f'{anno}/ava_train_demo.csv',
        exclude_file=f'{anno}/ava_train_excluded_timestamps_demo.csv',
        label_file=f'{anno}/ava_action_list_demo.pbtxt',
        proposal_file=f'{anno}/ava_dense_proposals_train.demo.pkl',
        data_prefix=dict(video=f'{root}/videos'), num_classes=4,
        person_det_score_thr=0.9, pipeline=pipeline))
    packed = dataset[0]
    assert packed['inputs'].shape == (3, 4, 64, 64)
    sample = packed['data_samples']
    info = dataset.get_data_info(0)
    assert len(sample.gt_instances.bboxes) == len(info['gt_bboxes']) == 2
    np.testing.assert_array_equal(sample.gt_instances.labels.numpy(),
                                  info['gt_labels'])
    boxes = sample.gt_instances.bboxes
    assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes >= 0).all()
    assert (boxes <= 64).all()  # inside the 64 x 64 crop
    np.testing.assert_allclose(sample.proposals.scores.numpy(),
                               info['scores'], rtol=1e-6)
    assert len(sample.proposals.bboxes) == len(info['scores'])


def test_pack_keeps_proposal_scores_aligned_or_refuses():
    """Proposal scores travel next to their boxes; packed without ground
    truth too (mmaction2 packs proposals only next to gt boxes); a count
    that disagrees is refused."""
    pack = Compose([dict(type='PackAVAInputs')])
    proposals = np.array([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
    results = dict(imgs=np.zeros((1, 3, 2, 4, 4), np.float32),
                   proposals=proposals, scores=np.array([0.9, 0.7]),
                   img_shape=(4, 4))
    sample = pack(dict(results))['data_samples']
    np.testing.assert_array_equal(sample.proposals.bboxes.numpy(), proposals)
    np.testing.assert_allclose(sample.proposals.scores.numpy(), [0.9, 0.7])
    with pytest.raises(ValueError, match='3 scores for 2 proposals'):
        pack(dict(results, scores=np.ones(3)))


def test_demo_ava_annotations_follow_the_motion(tmp_path):
    """The generated labels: action 1 moves sideways (its boxes keep their
    y), action 2 up or down (boxes keep their x); true proposals score at
    least 0.9 and the false one less; the last keyframe of the first
    video is excluded."""
    from mmvmae.datasets.demo_ava import generate_demo_ava
    root = Path(generate_demo_ava(str(tmp_path / 'ava'), num_train=4,
                                  num_val=1, num_keyframes=3))
    anno = root / 'annotations'
    tracks = {}
    for row in csv.reader(open(anno / 'ava_train_demo.csv')):
        video, _, x1, y1, x2, y2, action, person = row
        if action in ('1', '2'):
            tracks.setdefault((video, person, action), []).append(
                (float(x1), float(y1), float(x2), float(y2)))
    assert {key[2] for key in tracks} == {'1', '2'}
    # normalised by the 96x64 frame: a person is 16-21 pixels across
    sizes = np.array([[(x2 - x1) * 96, (y2 - y1) * 64] for boxes in
                      tracks.values() for x1, y1, x2, y2 in boxes])
    assert 15 <= sizes.min() and sizes.max() <= 23
    for (_, _, action), boxes in tracks.items():
        boxes = np.array(boxes)
        still, moving = ([1, 3], [0, 2]) if action == '1' else ([0, 2],
                                                                [1, 3])
        assert np.ptp(boxes[:, still], axis=0).max() < 0.002
        assert np.ptp(boxes[:, moving], axis=0).min() > 0.02
    with open(anno / 'ava_dense_proposals_train.demo.pkl', 'rb') as f:
        proposals = pickle.load(f)
    for boxes in proposals.values():
        assert (boxes[:-1, 4] >= 0.9).all() and boxes[-1, 4] < 0.9
    assert (anno / 'ava_train_excluded_timestamps_demo.csv').read_text(
    ).split() == ['demo_tr0000,0903']


def test_demo_ava_boxes_are_those_of_the_keyframe(tmp_path, monkeypatch):
    """The demo box of second S is where the person is in the frame the
    reader takes as its keyframe: round((S - 900) * fps) of the video
    (``SampleAVAVideoFrames``' convention), not a neighbouring frame. At
    2 fps the persons move several pixels from one frame to the next."""
    from mmvmae.datasets import demo_ava
    rendered = {}
    real_background, real_write = demo_ava.make_background, \
        demo_ava.write_video

    def record_background(*args, **kwargs):
        rendered['background'] = real_background(*args, **kwargs)
        return rendered['background']

    def record_video(path, frames, fps):
        rendered[Path(path).stem] = (rendered.pop('background'), frames)
        return real_write(path, frames, fps)

    monkeypatch.setattr(demo_ava, 'make_background', record_background)
    monkeypatch.setattr(demo_ava, 'write_video', record_video)
    root = Path(demo_ava.generate_demo_ava(
        str(tmp_path / 'ava'), num_train=2, num_val=1, num_keyframes=3,
        fps=2))
    boxes = {}
    for row in csv.reader(open(root / 'annotations' / 'ava_train_demo.csv')):
        video, second, x1, y1, x2, y2, _, person = row
        boxes.setdefault((video, int(second)), {})[person] = (
            float(x1) * 96, float(y1) * 64, float(x2) * 96, float(y2) * 64)
    assert len(boxes) == 2 * 3
    sample = Compose([dict(type='SampleAVAVideoFrames', clip_len=1,
                           test_mode=True)])
    for (video, second), people in boxes.items():
        background, frames = rendered[video]
        keyframe = round((second - 900) * 2)
        assert list(sample(dict(timestamp=second, timestamp_start=900,
                                avg_fps=2., total_frames=len(frames)))
                    ['frame_inds']) == [keyframe]
        inside = np.zeros((64, 96), bool)
        for x1, y1, x2, y2 in people.values():
            assert 15 <= x2 - x1 <= 23 and 15 <= y2 - y1 <= 23
            inside[max(int(y1) - 1, 0):int(np.ceil(y2)) + 1,
                   max(int(x1) - 1, 0):int(np.ceil(x2)) + 1] = True
        person = (frames[keyframe] != background).any(-1)
        assert person.sum() > 2 * 100  # both drawn
        assert not (person & ~inside).any(), (video, second)
