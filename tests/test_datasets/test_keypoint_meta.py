"""keypoint_meta: COCO's constants, and the dataset meta in the project's and mmpose's forms."""
import logging

import numpy as np
import pytest

from mmhrkpt.datasets import (COCO_KEYPOINT_NAMES, COCO_SIGMAS, COCO_SKELETON, derive_flip_pairs,
                              resolve_keypoint_meta)
from mmhrkpt.datasets.keypoint_meta import mmpose_meta_file


def test_coco_skeleton_links_every_keypoint_and_is_mirror_symmetric():
    num = len(COCO_KEYPOINT_NAMES)
    edges = {frozenset(edge) for edge in COCO_SKELETON}
    assert len(COCO_SKELETON) == len(edges) == 19
    assert all(0 <= i < num and 0 <= j < num and i != j for i, j in COCO_SKELETON)
    reached, frontier = {0}, [0]  # connected from the nose
    while frontier:
        k = frontier.pop()
        for edge in edges:
            if k in edge:
                (other, ) = edge - {k}
                if other not in reached:
                    reached.add(other)
                    frontier.append(other)
    assert reached == set(range(num))
    mirror = list(range(num))
    for i, j in derive_flip_pairs(COCO_KEYPOINT_NAMES):
        mirror[i], mirror[j] = j, i
    assert {frozenset((mirror[i], mirror[j])) for i, j in COCO_SKELETON} == edges
    # COCO's json lists the legs first: ankle-knee of the left side, 1-based (16, 14)
    assert COCO_SKELETON[0] == (COCO_KEYPOINT_NAMES.index('left_ankle'),
                                COCO_KEYPOINT_NAMES.index('left_knee'))


# ------------------------------------------------------------------ mmpose 0.x's dataset meta
MMPOSE_META = ('coco', 'crowdpose', 'mpii', 'aic', 'ochuman', 'halpe')


def _mmpose_dataset_info(name):
    """mmpose's own reading of its meta file (the oracle)."""
    from mmcv import Config

    from mmhrkpt.utils import import_mmpose
    dataset_info = import_mmpose('datasets').DatasetInfo
    return dataset_info(Config.fromfile(mmpose_meta_file(name)).dataset_info)


@pytest.mark.parametrize('name', MMPOSE_META)
def test_mmpose_meta_files_read_as_mmpose_reads_them(name):
    meta = resolve_keypoint_meta(f'mmpose::{name}')
    ref = _mmpose_dataset_info(name)
    assert meta['keypoint_names'] == tuple(ref.keypoint_id2name[k] for k in range(ref.keypoint_num))
    assert [list(pair) for pair in meta['flip_pairs']] == ref.flip_pairs
    assert [list(edge) for edge in meta['skeleton']] == ref.skeleton
    np.testing.assert_array_equal(meta['sigmas'], ref.sigmas)
    np.testing.assert_array_equal(meta['joint_weights'], ref.joint_weights[:, 0])


def test_mmpose_meta_by_path_and_inline_equal_by_name(tmp_path):
    from mmcv import Config
    path = mmpose_meta_file('crowdpose')
    by_name = resolve_keypoint_meta('mmpose::crowdpose')
    by_path = resolve_keypoint_meta(path)
    inline = resolve_keypoint_meta(Config.fromfile(path).dataset_info.to_dict())
    for meta in (by_path, inline):
        assert meta['keypoint_names'] == by_name['keypoint_names']
        assert meta['flip_pairs'] == by_name['flip_pairs'] and meta['skeleton'] == by_name['skeleton']
        np.testing.assert_array_equal(meta['sigmas'], by_name['sigmas'])
    assert by_name['keypoint_names'][12:] == ('top_head', 'neck')
    # a copy of the file elsewhere reads the same
    copy = tmp_path / 'my_meta.py'
    copy.write_text(open(path).read())
    assert resolve_keypoint_meta(str(copy))['skeleton'] == by_name['skeleton']


def test_coco_meta_file_equals_the_project_constants():
    meta = resolve_keypoint_meta('mmpose::coco')
    assert meta['keypoint_names'] == COCO_KEYPOINT_NAMES
    assert {frozenset(e) for e in meta['skeleton']} == {frozenset(e) for e in COCO_SKELETON}
    np.testing.assert_allclose(meta['sigmas'], COCO_SIGMAS)
    assert sorted(map(sorted,
                      meta['flip_pairs'])) == sorted(map(sorted, derive_flip_pairs(COCO_KEYPOINT_NAMES)))


def _tiny_mmpose_info(**overrides):
    info = dict(
        dataset_name='tiny',
        keypoint_info={
            0: dict(name='head', id=0, swap=''),
            1: dict(name='hand_l', id=1, swap='hand_r'),
            2: dict(name='hand_r', id=2, swap='hand_l'),
        },
        skeleton_info={
            0: dict(link=('head', 'hand_l'), id=0),
            1: dict(link=('head', 'hand_r'), id=1)
        },
        joint_weights=[1.0, 1.5, 1.5],
        sigmas=[0.05, 0.06, 0.06])
    info.update(overrides)
    return info


def test_inline_mmpose_format():
    meta = resolve_keypoint_meta(_tiny_mmpose_info())
    assert meta['keypoint_names'] == ('head', 'hand_l', 'hand_r')
    assert meta['flip_pairs'] == [(1, 2)]  # from swap, not from the names
    assert meta['skeleton'] == [(0, 1), (0, 2)]
    np.testing.assert_allclose(meta['sigmas'], [0.05, 0.06, 0.06])
    assert meta['joint_weights'].dtype == np.float32
    np.testing.assert_allclose(meta['joint_weights'], [1.0, 1.5, 1.5])
    # no joint weights: none
    assert resolve_keypoint_meta(_tiny_mmpose_info(joint_weights=[]))['joint_weights'] is None


@pytest.mark.parametrize('overrides, message', [
    (dict(keypoint_info={
        0: dict(name='a'),
        2: dict(name='b')
    }), r'ids must be 0\.\.1'),
    (dict(keypoint_info={0: dict(name='a', swap='z')}), "swaps with 'z'"),
    (dict(skeleton_info={0: dict(link=('head', 'tail'))}), r'skeleton_info\[0\] link'),
    (dict(joint_weights=[1, 2]), 'joint_weights must be K=3'),
    (dict(sigmas=[0.1, 0.1]), 'sigmas must be K=3'),
    (dict(flip_index=[0, 2, 1]), 'unknown keys'),
])
def test_bad_mmpose_format_is_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve_keypoint_meta(_tiny_mmpose_info(**overrides))


def test_bad_meta_file_names():
    with pytest.raises(FileNotFoundError, match=r"mmpose::nope.*available: \[.*'coco'"):
        resolve_keypoint_meta('mmpose::nope')
    with pytest.raises(FileNotFoundError, match='neither'):
        resolve_keypoint_meta('no/such/meta.py')


def test_short_form_keeps_working_and_takes_joint_weights():
    meta = resolve_keypoint_meta(
        dict(keypoint_names=['a', 'left_x', 'right_x'], sigmas=[1, 1, 1], joint_weights=[2, 1, 1]))
    assert meta['flip_pairs'] == [(1, 2)] and meta['skeleton'] == []
    np.testing.assert_allclose(meta['joint_weights'], [2, 1, 1])
    with pytest.raises(ValueError, match='non-negative'):
        resolve_keypoint_meta(dict(keypoint_names=['a'], sigmas=[1], joint_weights=[-1]))


def test_a_category_skeleton_that_does_not_fit_is_one_warning(caplog):
    names = ['left_shoulder', 'right_shoulder', 'head']
    category = dict(keypoints=names, skeleton=[[16, 14], [1, 2]])  # 1-based up to 16, for 3 names
    with caplog.at_level(logging.WARNING):
        meta = resolve_keypoint_meta(dict(sigmas=[1, 1, 1]), category, ann_file='x/ann.json')
    assert meta['skeleton'] == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'x/ann.json' in warnings[0].getMessage()
    assert 'no skeleton is drawn' in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        meta = resolve_keypoint_meta(
            dict(sigmas=[1, 1, 1], skeleton=[(0, 1)]), category, ann_file='x/ann.json')
    assert meta['skeleton'] == [(0, 1)]
    assert "meta's skeleton is used" in caplog.text
    # a category skeleton that fits is used, silently
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        meta = resolve_keypoint_meta(dict(sigmas=[1, 1, 1]), dict(keypoints=names, skeleton=[[3, 1]]))
    assert meta['skeleton'] == [(2, 0)] and not caplog.records
