"""Formatting: mmdet's ``DefaultFormatBundle`` plus ``gt_keypoints``.

Letters: n instances, K keypoints.
"""
import numpy as np
from mmcv.parallel import DataContainer as DC
from mmdet.datasets.builder import PIPELINES
from mmdet.datasets.pipelines import DefaultFormatBundle, to_tensor


@PIPELINES.register_module()
class KeypointFormatBundle(DefaultFormatBundle):
    """mmdet's ``DefaultFormatBundle`` that also wraps ``gt_keypoints``.

    ``gt_keypoints``: ``np.ndarray[n, K, 3]`` -> ``DataContainer(Tensor[n, K, 3])`` (float32, not
    stacked, like ``gt_bboxes``). Checks that it still has one row per box: a geometric step that
    is not keypoint-aware (e.g. mmdet's ``RandomCrop``, which drops boxes) would otherwise
    misalign them silently.
    """

    def __call__(self, results):
        keypoints = results.get('gt_keypoints')
        if keypoints is not None:
            keypoints = np.ascontiguousarray(keypoints, dtype=np.float32)
            num_boxes = len(results['gt_bboxes']) if 'gt_bboxes' in results else len(keypoints)
            if keypoints.ndim != 3 or keypoints.shape[2] != 3 or len(keypoints) != num_boxes:
                raise ValueError(
                    f'gt_keypoints of shape {keypoints.shape} does not match {num_boxes} '
                    'gt_bboxes: use the keypoint-aware steps (KeypointResize, KeypointRandomFlip) '
                    'for every geometric transform')
        results = super().__call__(results)
        if keypoints is not None:
            results['gt_keypoints'] = DC(to_tensor(keypoints))
        return results
