"""Geometric steps that move ``gt_keypoints`` with the image and the boxes.

Letters: n instances, K keypoints. Keypoints are ``np.ndarray[n, K, 3]`` = (x, y, v) in the
continuous image frame of CONVENTIONS.md (pixel (i, j) covers [j, j + 1) x [i, i + 1)); v = 0 means
unlabelled and such a keypoint is always (0, 0, 0). Every step below calls mmdet's own transform
first and then moves the arrays named in ``results['keypoint_fields']`` by the same mapping;
keypoints that end outside [0, w) x [0, h) become (0, 0, 0).

Pad changes no coordinate, so mmdet's ``Pad`` is used as it is. mmdet's crops are not
keypoint-aware: ``KeypointFormatBundle`` refuses keypoints that no longer match the boxes.
"""
import numpy as np
from mmdet.datasets.builder import PIPELINES
from mmdet.datasets.pipelines import RandomFlip, Resize

FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def clear_invisible_keypoints(keypoints, img_shape):
    """Zero the unlabelled keypoints and those outside the image.

    Args:
        keypoints (np.ndarray): [n, K, 3] (x, y, v).
        img_shape (tuple): (h, w, ...) of the image.

    Returns:
        np.ndarray: [n, K, 3], a new array; (0, 0, 0) where v <= 0 or (x, y) is outside
        [0, w) x [0, h).
    """
    h, w = img_shape[:2]
    x, y, v = keypoints[..., 0], keypoints[..., 1], keypoints[..., 2]
    invalid = (v <= 0) | (x < 0) | (x >= w) | (y < 0) | (y >= h)
    return np.where(invalid[..., None], 0, keypoints).astype(keypoints.dtype, copy=False)


def rescale_keypoints(keypoints, scale_factor, img_shape):
    """Keypoints of an image resized by ``scale_factor`` = [w_scale, h_scale, ...].

    Args:
        keypoints (np.ndarray): [n, K, 3] (x, y, v) in the image before resizing.
        scale_factor (np.ndarray): [4] = [w_scale, h_scale, w_scale, h_scale] (mmdet's).
        img_shape (tuple): (h, w, ...) after resizing.

    Returns:
        np.ndarray: [n, K, 3], x * w_scale, y * h_scale, v kept; off-image ones zeroed.
    """
    scale = np.ones(3, dtype=keypoints.dtype)
    scale[:2] = np.asarray(scale_factor, dtype=keypoints.dtype).reshape(-1)[:2]
    return clear_invisible_keypoints(keypoints * scale, img_shape)


def flip_permutation(num_keypoints, flip_pairs):
    """Index array ``perm[K]`` so that ``keypoints[:, perm]`` swaps every flip pair."""
    perm = np.arange(num_keypoints)
    if len(flip_pairs):
        pairs = np.asarray(flip_pairs, dtype=np.int64).reshape(-1, 2)
        perm[pairs[:, 0]] = pairs[:, 1]
        perm[pairs[:, 1]] = pairs[:, 0]
    return perm


def flip_keypoints(keypoints, img_shape, direction, flip_pairs):
    """Keypoints of a flipped image.

    Horizontal: x' = w - x (as mmdet's ``bbox_flip`` for box corners), vertical: y' = h - y,
    diagonal: both. Horizontal and vertical flips are mirror images, so the left/right pairs are
    swapped; a diagonal flip is a 180 degree rotation and swaps nothing.

    Args:
        keypoints (np.ndarray): [n, K, 3] (x, y, v).
        img_shape (tuple): (h, w, ...) of the image.
        direction (str): 'horizontal', 'vertical' or 'diagonal'.
        flip_pairs (Sequence[tuple[int, int]]): the dataset's left/right pairs.

    Returns:
        np.ndarray: [n, K, 3], a new array.
    """
    if direction not in FLIP_DIRECTIONS:
        raise ValueError(f'flip direction must be one of {FLIP_DIRECTIONS}, got {direction!r}')
    h, w = img_shape[:2]
    flipped = keypoints.copy()
    if direction in ('horizontal', 'diagonal'):
        flipped[..., 0] = w - flipped[..., 0]
    if direction in ('vertical', 'diagonal'):
        flipped[..., 1] = h - flipped[..., 1]
    if direction != 'diagonal':
        flipped = flipped[:, flip_permutation(keypoints.shape[1], flip_pairs)]
    return clear_invisible_keypoints(flipped, img_shape)


@PIPELINES.register_module()
class KeypointResize(Resize):
    """mmdet's ``Resize`` (same arguments: multi-scale, keep_ratio, ...) that also scales keypoints.

    Uses ``results['scale_factor']`` = [w_scale, h_scale, w_scale, h_scale] set by mmdet, so the
    keypoints follow exactly the mapping applied to the boxes.
    """

    def __call__(self, results):
        results = super().__call__(results)
        for key in results.get('keypoint_fields', []):
            results[key] = rescale_keypoints(results[key], results['scale_factor'], results['img_shape'])
        return results


@PIPELINES.register_module()
class KeypointRandomFlip(RandomFlip):
    """mmdet's ``RandomFlip`` (same arguments) that also flips keypoints and swaps flip pairs.

    Needs ``results['keypoint_flip_pairs']`` (put there by the dataset's ``pre_pipeline``) when
    there are keypoints to flip. The flipped keypoints are computed in the frame of
    ``results['img_shape']``, as mmdet flips the boxes.
    """

    def __call__(self, results):
        results = super().__call__(results)
        if not results['flip']:
            return results
        for key in results.get('keypoint_fields', []):
            if 'keypoint_flip_pairs' not in results:
                raise KeyError("flipping keypoints needs results['keypoint_flip_pairs'] (set by "
                               'CocoKeypointDataset.pre_pipeline)')
            results[key] = flip_keypoints(results[key], results['img_shape'], results['flip_direction'],
                                          results['keypoint_flip_pairs'])
        return results
