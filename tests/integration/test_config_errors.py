"""Mistakes in the config or the annotations stop tools/train.py before training, with one line
that says what and where (the dataset's own messages are tested in tests/test_datasets)."""
import json

import pytest
from mmcv import Config
from mmdet.datasets import build_dataset
from mmdet.models import build_detector
from reliability_utils import describe, make_data, train, write_config

from mmhrkpt.apis import check_keypoint_consistency
from mmhrkpt.utils import ConfigError, check_config_types, explain_error


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('config_errors')
    out, options = make_data(root / 'data', num_train=2, num_val=1)
    return dict(root=root, out=out, options=options, config=write_config(root / 'tiny.py', max_epochs=1))


def _error_lines(proc):
    return [line for line in proc.stderr.splitlines() if line.startswith('error: ')]


def test_malformed_annotation_is_one_line_naming_its_id(tiny):
    coco = json.load(open(tiny['out']['train']['ann_file']))
    coco['annotations'][0]['id'] = 4242
    coco['annotations'][0]['keypoints'] = coco['annotations'][0]['keypoints'][:-3]  # 16 triplets
    bad = tiny['root'] / 'bad.json'
    bad.write_text(json.dumps(coco))
    options = [
        o if not o.startswith('data.train.ann_file=') else f'data.train.ann_file={bad}'
        for o in tiny['options']
    ]
    proc = train(tiny['config'], tiny['root'] / 'work_bad_json', options)
    assert proc.returncode == 1, describe(proc)
    (line, ) = _error_lines(proc)
    assert 'malformed annotation id=4242' in line and "'keypoints'" in line and str(bad) in line
    assert 'Traceback' not in proc.stderr


def test_unknown_model_type_names_the_close_matches(tiny):
    proc = train(tiny['config'], tiny['root'] / 'work_typo',
                 tiny['options'] + ['model.roi_head.keypoint_head.type=HeatmapKeypointHed'])
    assert proc.returncode == 1, describe(proc)
    (line, ) = _error_lines(proc)
    assert "'HeatmapKeypointHed' is not in the models registry" in line
    assert "did you mean 'HeatmapKeypointHead'" in line
    assert 'Traceback' not in proc.stderr


def test_unknown_types_elsewhere_are_all_listed_before_building(tiny):
    cfg = Config.fromfile(tiny['config'])
    cfg.runner.type = 'AtomicEpochBasedRuner'
    cfg.data.train.pipeline[2].type = 'KeypointResise'
    cfg.data.val.pipeline[1].transforms[0].type = 'Resiz'
    cfg.custom_hooks[0].type = 'FiniteLosHook'
    cfg.lr_config.policy = 'stepp'
    cfg.optimizer.type = 'AdamWW'
    with pytest.raises(ConfigError) as err:
        check_config_types(cfg)
    text = explain_error(err.value)
    for where, suggestion in (('runner.type', 'AtomicEpochBasedRunner'), ('data.train.pipeline[2].type',
                                                                          'KeypointResize'),
                              ('data.val.pipeline[1].transforms[0].type', 'Resize'), ('custom_hooks[0].type',
                                                                                      'FiniteLossHook'),
                              ('lr_config.policy', 'StepLrUpdaterHook'), ('optimizer.type', 'AdamW')):
        assert f'{where}: ' in text and f"'{suggestion}'" in text, (where, text)
    check_config_types(Config.fromfile(tiny['config']))  # the config itself is fine


def test_keypoint_count_mismatch_fails_at_build(tiny):
    cfg = Config.fromfile(tiny['config'])
    cfg.model.roi_head.keypoint_head.num_keypoints = 14
    model = build_detector(cfg.model)
    cfg.data.train.ann_file = tiny['out']['train']['ann_file']
    cfg.data.train.img_prefix = tiny['out']['train']['img_prefix']
    dataset = build_dataset(cfg.data.train)
    with pytest.raises(ValueError) as err:
        check_keypoint_consistency(model, [dataset])
    text = explain_error(err.value)
    assert 'num_keypoints=14' in text and 'has 17 keypoints' in text
    assert len(text.splitlines()) == 1
