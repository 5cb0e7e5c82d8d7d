"""Loading steps: an image loader that names the file it cannot read, and keypoint annotations.

Letters: n instances, K keypoints.
"""
import os.path as osp

import cv2
import mmcv
import numpy as np
from mmdet.datasets.builder import PIPELINES
from mmdet.datasets.pipelines import LoadAnnotations, LoadImageFromFile


class ImageLoadError(Exception):
    """An image file is missing or cannot be decoded.

    Attributes:
        path (str): the file.
        reason (str): why it could not be loaded.
    """

    def __init__(self, path, reason):
        super().__init__(f"cannot load image '{path}': {reason}")
        self.path = path
        self.reason = reason


# JPEG markers: start of image, start of scan, end of image.
JPEG_SOI, JPEG_SOS, JPEG_EOI = b'\xff\xd8', b'\xff\xda', b'\xff\xd9'


def jpeg_truncation(img_bytes):
    """Why ``img_bytes`` is a cut-short JPEG, else None.

    cv2 decodes a half-written JPEG without complaint (the missing rows come out grey), so the cut is
    found in the bytes: a whole JPEG has an end-of-image marker after its last scan (0xFFD9 cannot
    occur inside entropy-coded data), whatever trailer follows it.
    """
    if img_bytes[:2] != JPEG_SOI:
        return None
    last_scan = img_bytes.rfind(JPEG_SOS)
    if last_scan < 0 or img_bytes.find(JPEG_EOI, last_scan) < 0:
        return 'truncated JPEG (no end-of-image marker after its last scan)'
    return None


@PIPELINES.register_module()
class LoadImageFromFileSafe(LoadImageFromFile):
    """mmdet's ``LoadImageFromFile`` that raises :class:`ImageLoadError` naming the file.

    mmdet's loader fails on a missing file with the file client's error and on an undecodable one
    with an ``AttributeError`` on ``None``. This step turns both into one exception that
    :class:`~mmhrkpt.datasets.CocoKeypointDataset` catches during training (the image is skipped
    with a warning and another one drawn); at test time it propagates. Same arguments and output
    keys as mmdet's ``LoadImageFromFile``.
    """

    def __call__(self, results):
        if self.file_client is None:
            self.file_client = mmcv.FileClient(**self.file_client_args)
        ori_filename = results['img_info']['filename']
        prefix = results.get('img_prefix')
        filename = ori_filename if prefix is None else osp.join(prefix, ori_filename)

        try:
            img_bytes = self.file_client.get(filename)
        except FileNotFoundError:
            raise ImageLoadError(filename, 'file not found') from None
        except OSError as err:
            raise ImageLoadError(filename, f'cannot be read ({err})') from err
        problem = jpeg_truncation(img_bytes)
        if problem:
            raise ImageLoadError(filename, problem)
        try:
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type, channel_order=self.channel_order)
        except (cv2.error, OSError, ValueError) as err:
            raise ImageLoadError(filename, f'cannot be decoded ({err})') from err
        if img is None:
            raise ImageLoadError(filename, 'cannot be decoded as an image')
        if self.to_float32:
            img = img.astype(np.float32)

        results['filename'] = filename
        results['ori_filename'] = ori_filename
        results['img'] = img
        results['img_shape'] = img.shape
        results['ori_shape'] = img.shape
        results['img_fields'] = ['img']
        return results


@PIPELINES.register_module()
class LoadKeypointAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` plus ``results['gt_keypoints']``.

    Adds ``gt_keypoints`` (``np.ndarray[n, K, 3]``, float32, (x, y, v), row i belongs to
    ``gt_bboxes[i]``) from ``results['ann_info']['keypoints']`` and registers it in
    ``results['keypoint_fields']`` so that the keypoint-aware geometric steps move it.

    Args:
        with_keypoints (bool): load keypoints. Default: True.
        **kwargs: mmdet ``LoadAnnotations`` arguments (``with_bbox``, ``with_label``, ...).
    """

    def __init__(self, with_bbox=True, with_label=True, with_keypoints=True, **kwargs):
        super().__init__(with_bbox=with_bbox, with_label=with_label, **kwargs)
        self.with_keypoints = with_keypoints

    def _load_keypoints(self, results):
        ann_info = results['ann_info']
        keypoints = np.array(ann_info['keypoints'], dtype=np.float32)  # a copy
        num_boxes = len(ann_info['bboxes'])
        if keypoints.ndim != 3 or keypoints.shape[2] != 3 or len(keypoints) != num_boxes:
            raise ValueError(f"ann_info['keypoints'] must be [n={num_boxes}, K, 3], "
                             f'got shape {keypoints.shape}')
        results['gt_keypoints'] = keypoints
        results.setdefault('keypoint_fields', []).append('gt_keypoints')
        return results

    def __call__(self, results):
        results = super().__call__(results)
        if results is not None and self.with_keypoints:
            results = self._load_keypoints(results)
        return results

    def __repr__(self):
        return super().__repr__()[:-1] + f', with_keypoints={self.with_keypoints})'
