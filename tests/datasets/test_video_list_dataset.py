"""VideoListDataset: strict "path" / "path label" list parsing."""
import pytest
import torch

from mmvmae.registry import DATASETS, TRANSFORMS


def make_list(tmp_path, text, name='list.txt'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def build(ann_file, **kwargs):
    return DATASETS.build(
        dict(type='VideoListDataset', ann_file=ann_file, pipeline=[],
             **kwargs))


def test_unlabeled_lines_get_label_minus_one(tmp_path):
    ann = make_list(tmp_path, 'a.mp4\n\n  sub/b.mp4  \n')
    dataset = build(ann, data_prefix=dict(video='/videos'))
    assert len(dataset) == 2  # the blank line is skipped
    assert dataset.get_data_info(0)['filename'] == '/videos/a.mp4'
    assert dataset.get_data_info(1)['filename'] == '/videos/sub/b.mp4'
    assert [dataset.get_data_info(i)['label'] for i in range(2)] == [-1, -1]


def test_unlabeled_sample_packs(tmp_path):
    dataset = build(make_list(tmp_path, 'a.mp4\n'))
    results = dict(dataset.get_data_info(0), imgs=torch.zeros(1, 3, 2, 4, 4)
                   .numpy(), mask=torch.ones(4, dtype=torch.bool).numpy())
    pack = TRANSFORMS.build(
        dict(type='PackActionInputs', algorithm_keys=('mask', )))
    packed = pack(results)
    assert packed['inputs'].shape == (1, 3, 2, 4, 4)
    assert packed['data_samples'].gt_label.tolist() == [-1]
    assert packed['data_samples'].mask.all()


def test_labelled_lines(tmp_path):
    ann = make_list(tmp_path, 'a.mp4 3\nb.mp4 0\n')
    dataset = build(ann, data_root=str(tmp_path),
                    data_prefix=dict(video='videos'), num_classes=4)
    assert dataset.get_data_info(0)['filename'] == str(
        tmp_path / 'videos' / 'a.mp4')
    assert [dataset.get_data_info(i)['label'] for i in range(2)] == [3, 0]


def test_multi_class_and_delimiter(tmp_path):
    ann = make_list(tmp_path, 'my video.mp4,1,2\n', name='multi.txt')
    dataset = build(ann, delimiter=',', multi_class=True, num_classes=3)
    info = dataset.get_data_info(0)
    assert info['filename'] == 'my video.mp4'
    assert info['label'].tolist() == [0., 1., 1.]  # one-hot (mmaction2)
    # multi_class needs labels (mmaction2 one-hots -1 as the last class)
    # and num_classes (else a TypeError at the first item)
    with pytest.raises(ValueError, match=r'line 1.*no label, but multi'):
        build(make_list(tmp_path, 'a.mp4\n'), multi_class=True,
              num_classes=3)
    with pytest.raises(ValueError, match='multi_class=True needs num_cl'):
        build(ann, delimiter=',', multi_class=True)


@pytest.mark.parametrize('text,match', [
    ('a.mp4 1\nb.mp4 x\n', r'line 2.*not an int'),
    ('a.mp4 1\nb c.mp4 1\n', r'line 2.*"path" or "path label"'),
    ('a.mp4 1\nb.mp4\n', r'line 2.*mixes labelled and unlabeled'),
    ('a.mp4 -2\n', r'line 1.*label -2 is not at least 0'),
    ('\n\n', 'lists no videos'),
])
def test_malformed_lines(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        build(make_list(tmp_path, text))


def test_label_out_of_range(tmp_path):
    with pytest.raises(ValueError, match=r'line 1.*label 4 is not in \[0, 4\)'):
        build(make_list(tmp_path, 'a.mp4 4\n'), num_classes=4)


def test_missing_list(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.txt'):
        build(str(tmp_path / 'nowhere.txt'))
