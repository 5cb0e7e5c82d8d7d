"""Keypoint-aware pipeline steps: keypoints follow the image and the boxes through every step."""
import copy

import numpy as np
import pytest
import torch
from mmcv.parallel import DataContainer
from mmdet.datasets.builder import PIPELINES
from mmdet.datasets.pipelines import Compose

import mmhrkpt.datasets  # noqa: F401
from mmhrkpt.datasets import KEYPOINT_META_KEYS
from mmhrkpt.datasets.pipelines import flip_permutation

H, W = 60, 80
K = 5
# keypoints 1 <-> 2 and 3 <-> 4 are left/right pairs, 0 has none
FLIP_PAIRS = [(1, 2), (3, 4)]


def build(cfg):
    return PIPELINES.build(cfg)


def make_results(keypoints=None, bboxes=None, img=None):
    """A results dict as the loading steps leave it; one person by default."""
    if img is None:
        img = np.zeros((H, W, 3), dtype=np.uint8)
    if keypoints is None:
        keypoints = np.array(
            [[[20.5, 10.5, 2], [30.5, 12.5, 1], [0, 0, 0], [79.5, 59.5, 2], [0.25, 0.75, 2]]],
            dtype=np.float32)
    if bboxes is None:
        bboxes = np.array([[0, 0, 80, 60]], dtype=np.float32)[:len(keypoints)]
    return dict(
        img=img,
        img_shape=img.shape,
        ori_shape=img.shape,
        img_fields=['img'],
        filename='x.png',
        ori_filename='x.png',
        gt_bboxes=bboxes,
        gt_labels=np.zeros(len(bboxes), dtype=np.int64),
        bbox_fields=['gt_bboxes'],
        gt_keypoints=keypoints,
        keypoint_fields=['gt_keypoints'],
        keypoint_flip_pairs=FLIP_PAIRS,
        mask_fields=[],
        seg_fields=[])


def bright_pixel(img):
    """(x, y) centre of the single brightest pixel."""
    i, j = np.unravel_index(np.argmax(img[..., 0]), img.shape[:2])
    return j + 0.5, i + 0.5


def test_load_keypoint_annotations_copies():
    kpts = np.arange(2 * K * 3, dtype=np.float64).reshape(2, K, 3)
    ann_info = dict(
        bboxes=np.zeros((2, 4), np.float32),
        labels=np.zeros(2, np.int64),
        bboxes_ignore=np.zeros((0, 4), np.float32),
        keypoints=kpts)
    results = build(dict(type='LoadKeypointAnnotations'))(
        dict(ann_info=ann_info, bbox_fields=[], keypoint_fields=[]))
    assert results['gt_keypoints'].dtype == np.float32
    np.testing.assert_array_equal(results['gt_keypoints'], kpts)
    assert results['keypoint_fields'] == ['gt_keypoints']
    results['gt_keypoints'][0, 0, 0] = -1
    assert kpts[0, 0, 0] == 0  # ann_info is not modified through the results
    bad = dict(ann_info, keypoints=kpts[:1])
    with pytest.raises(ValueError, match='must be'):
        build(dict(type='LoadKeypointAnnotations'))(dict(ann_info=bad, bbox_fields=[]))


def test_resize_keep_ratio_scales_keypoints():
    results = make_results()
    before = results['gt_keypoints'].copy()
    results = build(dict(type='KeypointResize', img_scale=(160, 120), keep_ratio=True))(results)
    assert results['img_shape'][:2] == (120, 160)
    expected = before * np.array([2, 2, 1], np.float32)
    np.testing.assert_allclose(results['gt_keypoints'], expected)
    np.testing.assert_allclose(results['gt_bboxes'], [[0, 0, 160, 120]])


def test_resize_without_keep_ratio_scales_each_axis():
    results = build(dict(type='KeypointResize', img_scale=(100, 30), keep_ratio=False))(make_results())
    assert results['img_shape'][:2] == (30, 100)
    np.testing.assert_allclose(results['gt_keypoints'][0, 0], [20.5 * 1.25, 10.5 * 0.5, 2])
    np.testing.assert_allclose(results['gt_keypoints'][0, 3], [79.5 * 1.25, 59.5 * 0.5, 2])


def test_multiscale_resize_uses_the_drawn_scale():
    np.random.seed(3)
    step = build(
        dict(
            type='KeypointResize',
            img_scale=[(100, 50), (300, 200)],
            multiscale_mode='range',
            keep_ratio=True))
    for _ in range(5):
        results = make_results()
        before = results['gt_keypoints'].copy()
        results = step(results)
        new_h, new_w = results['img_shape'][:2]
        scale = np.array([new_w / W, new_h / H, 1], np.float32)
        np.testing.assert_allclose(results['gt_keypoints'], before * scale, rtol=1e-6)


def test_resize_keypoint_outside_the_image_becomes_unlabelled():
    kpts = np.array([[[80.5, 10.5, 2], [79.9, 59.9, 1], [10, -0.1, 2], [0, 0, 0], [1, 1, 2]]], np.float32)
    results = build(dict(type='KeypointResize', img_scale=(160, 120), keep_ratio=True))(make_results(kpts))
    out = results['gt_keypoints'][0]
    np.testing.assert_array_equal(out[0], [0, 0, 0])
    np.testing.assert_allclose(out[1], [159.8, 119.8, 1], rtol=1e-6)
    np.testing.assert_array_equal(out[2], [0, 0, 0])
    np.testing.assert_array_equal(out[3], [0, 0, 0])
    np.testing.assert_array_equal(out[4], [2, 2, 2])


def test_horizontal_flip_mirrors_and_swaps_pairs():
    img = np.zeros((H, W, 3), np.uint8)
    img[12, 30] = 255  # under keypoint 1 (30.5, 12.5), a "left" keypoint
    results = make_results(img=img)
    before = results['gt_keypoints'].copy()
    results = build(dict(type='KeypointRandomFlip', flip_ratio=1.0))(results)
    assert results['flip'] and results['flip_direction'] == 'horizontal'
    out = results['gt_keypoints'][0]
    # keypoint 1 moved to x' = w - x and is now stored as its partner, keypoint 2
    np.testing.assert_allclose(out[2], [W - 30.5, 12.5, 1])
    assert bright_pixel(results['img']) == (out[2, 0], out[2, 1])
    np.testing.assert_array_equal(out[1], [0, 0, 0])  # keypoint 2 was unlabelled
    np.testing.assert_allclose(out[0], [W - 20.5, 10.5, 2])  # no partner: stays index 0
    np.testing.assert_allclose(out[4], [W - 79.5, 59.5, 2])  # 3 -> 4
    np.testing.assert_allclose(out[3], [W - 0.25, 0.75, 2])  # 4 -> 3
    # flipping twice restores the keypoints
    results['flip'] = True
    again = build(dict(type='KeypointRandomFlip', flip_ratio=1.0))(results)
    np.testing.assert_allclose(again['gt_keypoints'], before)


def test_flip_keeps_keypoints_on_the_same_box_edge():
    kpts = np.array([[[0, 0, 0], [10.0, 20, 2], [30.0, 20, 2], [0, 0, 0], [0, 0, 0]]], np.float32)
    bboxes = np.array([[10, 5, 30, 50]], np.float32)  # keypoints on its left and right edge
    results = build(dict(type='KeypointRandomFlip', flip_ratio=1.0))(make_results(kpts, bboxes))
    x1, _, x2, _ = results['gt_bboxes'][0]
    out = results['gt_keypoints'][0]
    # the left-edge keypoint (1) is now on the right edge, stored as its partner (2)
    assert out[2, 0] == x2 and out[1, 0] == x1


@pytest.mark.parametrize('direction', ['vertical', 'diagonal'])
def test_vertical_and_diagonal_flip(direction):
    img = np.zeros((H, W, 3), np.uint8)
    img[12, 30] = 255
    results = build(dict(type='KeypointRandomFlip', flip_ratio=1.0, direction=direction))(
        make_results(img=img))
    out = results['gt_keypoints'][0]
    if direction == 'vertical':
        # a mirror image: pairs swap, y' = h - y
        np.testing.assert_allclose(out[2], [30.5, H - 12.5, 1])
        moved = out[2]
    else:
        # a 180 degree rotation: nothing swaps
        np.testing.assert_allclose(out[1], [W - 30.5, H - 12.5, 1])
        moved = out[1]
    assert bright_pixel(results['img']) == (moved[0], moved[1])


def test_no_flip_leaves_keypoints_and_flip_needs_pairs():
    results = make_results()
    before = results['gt_keypoints'].copy()
    results = build(dict(type='KeypointRandomFlip', flip_ratio=0.0))(results)
    assert not results['flip']
    np.testing.assert_array_equal(results['gt_keypoints'], before)
    results = make_results()
    del results['keypoint_flip_pairs']
    with pytest.raises(KeyError, match='keypoint_flip_pairs'):
        build(dict(type='KeypointRandomFlip', flip_ratio=1.0))(results)


def test_flip_permutation():
    np.testing.assert_array_equal(flip_permutation(5, FLIP_PAIRS), [0, 2, 1, 4, 3])
    np.testing.assert_array_equal(flip_permutation(3, []), [0, 1, 2])


def test_pad_leaves_keypoints():
    results = make_results()
    before = results['gt_keypoints'].copy()
    results = build(dict(type='Pad', size_divisor=32))(results)
    assert results['pad_shape'][:2] == (64, 96)
    np.testing.assert_array_equal(results['gt_keypoints'], before)


def test_resize_then_flip_follows_the_image():
    img = np.zeros((H, W, 3), np.uint8)
    img[40, 10] = 255  # keypoint 0 sits on pixel (row 40, col 10)
    kpts = np.zeros((1, K, 3), np.float32)
    kpts[0, 0] = [10.5, 40.5, 2]
    pipeline = Compose([
        dict(type='KeypointResize', img_scale=(240, 180), keep_ratio=True),  # x3: one pixel -> 3x3
        dict(type='KeypointRandomFlip', flip_ratio=1.0),
    ])
    results = pipeline(make_results(kpts, img=img))
    x, y, v = results['gt_keypoints'][0, 0]
    assert v == 2
    ys, xs = np.nonzero(results['img'][..., 0] > 128)
    # the keypoint is the centre of the blob the bright pixel became
    assert abs(x - (xs.mean() + 0.5)) < 0.5 and abs(y - (ys.mean() + 0.5)) < 0.5


def test_format_bundle_and_collect():
    pipeline = Compose([
        dict(type='KeypointResize', img_scale=(160, 120), keep_ratio=True),
        dict(type='KeypointRandomFlip', flip_ratio=0.0),
        dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False),
        dict(type='Pad', size_divisor=32),
        dict(type='KeypointFormatBundle'),
        dict(
            type='Collect',
            keys=['img', 'gt_bboxes', 'gt_labels', 'gt_keypoints'],
            meta_keys=KEYPOINT_META_KEYS),
    ])
    data = pipeline(make_results())
    keypoints = data['gt_keypoints']
    assert isinstance(keypoints, DataContainer) and not keypoints.stack
    assert isinstance(keypoints.data, torch.Tensor) and keypoints.data.dtype == torch.float32
    assert keypoints.data.shape == (1, K, 3)
    assert data['img_metas'].data['keypoint_flip_pairs'] == FLIP_PAIRS


def test_format_bundle_rejects_misaligned_keypoints():
    results = make_results(np.zeros((2, K, 3), np.float32), np.array([[0, 0, 10, 10]],
                                                                     np.float32))  # e.g. a crop dropped a box
    with pytest.raises(ValueError, match='does not match 1 gt_bboxes'):
        build(dict(type='KeypointFormatBundle'))(copy.deepcopy(results))


def test_jpeg_truncation_detects_cut_files_and_passes_whole_ones():
    import cv2
    import numpy as np

    from mmhrkpt.datasets.pipelines.loading import jpeg_truncation
    img = (np.random.default_rng(0).random((64, 48, 3)) * 255).astype(np.uint8)
    ok, buf = cv2.imencode('.jpg', img)
    data = buf.tobytes()
    assert jpeg_truncation(data) is None
    assert jpeg_truncation(data + b'trailer') is None
    for cut in (0.3, 0.9, 0.999):
        assert 'truncated' in jpeg_truncation(data[:int(len(data) * cut)])
    ok, png = cv2.imencode('.png', img)
    assert jpeg_truncation(png.tobytes()) is None  # not a JPEG: other checks apply
