"""Data that a config names but that is not there stops the tools at once,
one line per missing path, before the model is built."""
import glob
import os

import pytest
from mmengine.config import Config

import mmvmae
from mmvmae.utils.data_check import check_data_files, missing_data_files
from .test_bad_configs import exit_message
from .tests_paths import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'


def video_list(root, ann='list.txt', videos='videos'):
    os.makedirs(root / videos, exist_ok=True)
    (root / ann).write_text('a.mp4 0\n')
    return root


def loader(**dataset):
    return dict(dataset=dict(type='VideoListDataset', **dataset))


def test_paths_resolve_as_mmengine_joins_them(tmp_path):
    video_list(tmp_path / 'set')
    cfg = dict(train_dataloader=loader(
        data_root=str(tmp_path / 'set'), ann_file='list.txt',
        data_prefix=dict(video='videos')))
    assert missing_data_files(cfg, ['train']) == []
    # an absolute ann_file is not joined with data_root
    cfg['train_dataloader']['dataset']['ann_file'] = str(tmp_path / 'x.txt')
    cfg['train_dataloader']['dataset']['data_prefix'] = dict(video='vids')
    assert missing_data_files(cfg, ['train']) == [
        f'train_dataloader.dataset.ann_file: no file at {tmp_path}/x.txt',
        'train_dataloader.dataset.data_prefix.video: no folder at '
        f'{tmp_path}/set/vids']
    # a missing data_root is one line, not one per path joined with it
    cfg['train_dataloader']['dataset']['data_root'] = str(tmp_path / 'no')
    assert missing_data_files(cfg, ['train']) == [
        f'train_dataloader.dataset.data_root: no folder at {tmp_path}/no',
        f'train_dataloader.dataset.ann_file: no file at {tmp_path}/x.txt']


def test_paths_the_run_does_not_read_are_not_refused(tmp_path):
    """mmengine runs these configs: the check must not stop them."""
    video_list(tmp_path)
    absolute = tmp_path / 'absolute.txt'
    absolute.write_text(f'{tmp_path}/videos/a.mp4 0\n')
    cfg = dict(train_dataloader=loader(
        # a data_root no path is joined with
        data_root=str(tmp_path / 'gone'), ann_file=str(absolute),
        # the list's paths are absolute: the prefix is unused
        data_prefix=dict(video='data/k400/videos')))
    assert missing_data_files(cfg, ['train']) == []
    # remote roots are resolved by a storage backend
    cfg['train_dataloader']['dataset'].update(
        data_root='s3://bucket/k400', ann_file='list.txt')
    assert missing_data_files(cfg, ['train']) == []
    # AVA datasets read label_file only with custom_classes; metrics always
    ava = dict(type='AVADataset', ann_file=str(tmp_path / 'list.txt'),
               label_file='labels.pbtxt', data_prefix=dict(img=''))
    cfg = dict(val_dataloader=dict(dataset=ava),
               val_evaluator=dict(type='AVAMetric', label_file='l.pbtxt'))
    assert missing_data_files(cfg, ['val']) == [
        'val_evaluator.label_file: no file at l.pbtxt']
    ava['custom_classes'] = [1, 2]
    assert missing_data_files(cfg, ['val'])[0] == \
        'val_dataloader.dataset.label_file: no file at labels.pbtxt'


def test_wrappers_evaluators_and_loops(tmp_path):
    video_list(tmp_path)
    good = dict(ann_file=str(tmp_path / 'list.txt'),
                data_prefix=dict(video=str(tmp_path / 'videos')))
    cfg = dict(
        train_dataloader=dict(dataset=dict(
            type='RepeatedSamplingDataset', num_repeats=2,
            dataset=dict(type='ConcatDataset', datasets=[
                dict(type='VideoListDataset', **good),
                dict(type='VideoListDataset', ann_file='gone.txt')]))),
        val_dataloader=loader(**good),
        val_evaluator=[dict(type='AccMetric'),
                       dict(type='AVAMetric', ann_file='gt.csv',
                            label_file=tmp_path / 'list.txt')],
        test_dataloader=loader(ann_file='test.txt'))
    assert missing_data_files(cfg, ['train', 'val']) == [
        'train_dataloader.dataset.dataset.datasets.1.ann_file: no file at '
        'gone.txt',
        'val_evaluator.1.ann_file: no file at gt.csv']
    assert missing_data_files(cfg, ['test']) == [
        'test_dataloader.dataset.ann_file: no file at test.txt']
    # an Evaluator with its metrics; Path values
    cfg['val_evaluator'] = dict(type='Evaluator', metrics=[
        dict(type='AVAMetric', ann_file=tmp_path / 'gt.csv')])
    assert missing_data_files(cfg, ['val'])[0] == \
        f'val_evaluator.metrics.0.ann_file: no file at {tmp_path}/gt.csv'
    # --no-validate: no val loop, nothing to check
    cfg['val_dataloader'] = None
    assert len(missing_data_files(cfg, ['val'])) == 0


def test_what_is_not_checked(tmp_path):
    cfg = dict(test_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[
            dict(type='VideoListDataset', ann_file='s3://bucket/list.txt'),
            dict(type='VideoListDataset', ann_file='late.txt',
                 lazy_init=True),
            dict(type='VideoListDataset', ann_file='remote.txt',
                 backend_args=dict(backend='petrel'))])))
    assert missing_data_files(cfg, ['test']) == []
    # a dataset that makes its own files, and its evaluator's files
    cfg = dict(test_dataloader=loader(ann_file='nothing.txt'),
               test_evaluator=dict(type='AVAMetric', ann_file='gt.csv'))
    cfg['test_dataloader']['dataset']['type'] = 'DemoAVADataset'
    assert missing_data_files(cfg, ['test']) == []


@pytest.mark.parametrize('name', ['finetune/videomae_vit-tiny_demo-finetune',
                                  'pretrain/videomae_vit-tiny_demo-pretrain',
                                  'detection/videomae_vit-tiny_demo-ava'])
def test_demo_configs_pass_before_their_data_exists(name, tmp_path,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/ here: the demo sets make it
    cfg = Config.fromfile(CONFIGS / f'{name}.py')
    assert missing_data_files(cfg, ['train', 'val', 'test']) == []


def test_every_recipe_config_names_its_data(tmp_path, monkeypatch):
    """Without the datasets, every config but the demos names a missing
    path (the check resolves all of their dataset types)."""
    mmvmae.register_all_modules()
    monkeypatch.chdir(tmp_path)
    for path in sorted(glob.glob(str(CONFIGS / '**' / '*.py'),
                                 recursive=True)):
        if '_base_' in path or 'demo' in path:
            continue
        cfg = Config.fromfile(path)
        loops = [loop for loop in ('train', 'val', 'test')
                 if cfg.get(f'{loop}_dataloader')]
        if loops:
            problems = missing_data_files(cfg, loops)
            # the mmaction2 layout under data/
            assert problems and all(' at data/' in p for p in problems), \
                (path, problems)


def test_tools_stop_with_the_missing_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = exit_message(
        monkeypatch, 'train.py',
        str(CONFIGS / 'finetune' / 'videomae_vit-base_k400-finetune.py'))
    assert message.startswith('error: the config names data that is not '
                              'there:\n  train_dataloader.dataset.dataset.'
                              'ann_file: no file at data/kinetics400/')
    assert 'val_dataloader.dataset.ann_file' in message
    assert '--cfg-options train_dataloader.dataset.dataset.ann_file=PATH' \
        in message
    # testing checks the test loop and its evaluator (AVA's ground truth)
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    message = exit_message(
        monkeypatch, 'test.py',
        str(CONFIGS / 'detection' / 'videomae_vit-base_ava22-video.py'),
        'epoch_1.pth')
    assert 'test_evaluator.ann_file: no file at data/ava/' in message
    assert 'train_dataloader' not in message


def test_check_passes_quietly_when_the_data_is_there(tmp_path):
    video_list(tmp_path)
    cfg = dict(train_dataloader=loader(
        data_root=str(tmp_path), ann_file='list.txt',
        data_prefix=dict(video='videos')))
    check_data_files(cfg, ['train'])  # no SystemExit
    cfg['train_dataloader']['dataset']['ann_file'] = 'other.txt'
    with pytest.raises(SystemExit, match='other.txt'):
        check_data_files(cfg, ['train'])


def test_prefix_checked_for_a_list_of_relative_entries(tmp_path):
    """Relative list entries are joined with data_prefix: a missing prefix
    folder is named (its first entry decides, blank lines skipped); without
    a data_prefix only the list itself is checked, under data_root."""
    video_list(tmp_path / 'set')
    dataset = dict(data_root=str(tmp_path / 'set'), ann_file='list.txt',
                   data_prefix=dict(video='vids'))
    cfg = dict(train_dataloader=loader(**dataset))
    assert missing_data_files(cfg, ['train']) == [
        'train_dataloader.dataset.data_prefix.video: no folder at '
        f'{tmp_path}/set/vids']
    # a blank first line does not hide an absolute first entry
    (tmp_path / 'set' / 'list.txt').write_text(
        f'\n  \n{tmp_path}/set/videos/a.mp4 0\n')
    assert missing_data_files(cfg, ['train']) == []
    del dataset['data_prefix']
    cfg = dict(train_dataloader=loader(**dataset))
    assert missing_data_files(cfg, ['train']) == []
    cfg['train_dataloader']['dataset']['ann_file'] = 'other.txt'
    assert missing_data_files(cfg, ['train']) == [
        f'train_dataloader.dataset.ann_file: no file at {tmp_path}/set/'
        'other.txt']


def test_exclude_file_resolves_against_the_working_directory(
        tmp_path, monkeypatch):
    """AVA's exclude_file is opened as written (mmaction2 does not join it
    with data_root): a relative one is looked up in the working
    directory."""
    video_list(tmp_path / 'set')
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'excluded.csv').write_text('')
    cfg = dict(val_dataloader=dict(dataset=dict(
        type='AVADataset', data_root=str(tmp_path / 'set'),
        ann_file='list.txt', exclude_file='excluded.csv',
        data_prefix=dict(img=''))))
    assert missing_data_files(cfg, ['val']) == []
    # one under data_root only is not the file the dataset opens
    (tmp_path / 'excluded.csv').rename(tmp_path / 'set' / 'excluded.csv')
    assert missing_data_files(cfg, ['val']) == [
        'val_dataloader.dataset.exclude_file: no file at excluded.csv']
