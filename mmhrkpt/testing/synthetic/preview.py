"""A preview of COCO person annotations: images enlarged, their boxes and skeletons drawn with the
project's one drawer and palette (``mmhrkpt.core.visualization``).
"""
import json
import os.path as osp

import cv2
import numpy as np

from mmhrkpt.core.visualization import imshow_keypoints
from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON, PIXEL_CENTER_OFFSET

PREVIEW_GAP = 4  # white pixels between tiles


def draw_annotations(image, annotations, zoom=2):
    """``image`` enlarged ``zoom`` times with COCO person annotations drawn (labelled keypoints only).

    Args:
        image (np.ndarray): uint8 BGR [H, W, 3].
        annotations (list[dict]): COCO annotations with ``bbox`` and 17 keypoints (pixel indices).
        zoom (int): enlargement.

    Returns:
        np.ndarray: uint8 BGR [zoom * H, zoom * W, 3].
    """
    out = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    if not annotations:
        return out
    # pixel index -> continuous frame (+0.5) -> zoomed continuous frame
    kpts = np.stack([np.asarray(a['keypoints'], dtype=np.float32).reshape(-1, 3) for a in annotations])
    kpts[..., :2] = (kpts[..., :2] + PIXEL_CENTER_OFFSET) * zoom
    xywh = np.asarray([a['bbox'] for a in annotations], dtype=np.float32).reshape(-1, 4)
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1) * zoom
    return imshow_keypoints(
        out, boxes, kpts, skeleton=COCO_SKELETON, keypoint_names=COCO_KEYPOINT_NAMES, kpt_thr=0)


def save_preview(ann_file, img_prefix, out_file, num_images=8, zoom=2, columns=4):
    """Save a grid of the first ``num_images`` images of ``ann_file``, each shown raw and then
    with its annotations drawn (``draw_annotations``), enlarged ``zoom`` times.

    Returns:
        str: ``out_file``.
    """
    with open(ann_file) as f:
        dataset = json.load(f)
    tiles = []
    for info in dataset['images'][:num_images]:
        path = osp.join(img_prefix, info['file_name'])
        image = cv2.imread(path)
        if image is None:
            raise FileNotFoundError(f'preview: cannot read image {path}')
        anns = [a for a in dataset['annotations'] if a['image_id'] == info['id']]
        tiles += [draw_annotations(image, [], zoom), draw_annotations(image, anns, zoom)]
    if not tiles:
        raise ValueError(f'preview: {ann_file} has no images')
    tile_h, tile_w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (tile_h + PREVIEW_GAP), columns * (tile_w + PREVIEW_GAP), 3), 255, np.uint8)
    for n, tile in enumerate(tiles):
        r, c = divmod(n, columns)
        y, x = r * (tile_h + PREVIEW_GAP), c * (tile_w + PREVIEW_GAP)
        grid[y:y + tile_h, x:x + tile_w] = tile
    if not cv2.imwrite(out_file, grid):
        raise RuntimeError(f'OpenCV could not write the preview {out_file}')
    return out_file
