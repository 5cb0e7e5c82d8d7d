"""Drawing boxes and skeletons (predictions and ground truth) with OpenCV.

Keypoints are (x, y, score-or-visibility) in continuous image pixels; a keypoint is drawn when its
third value exceeds ``kpt_thr``. Colours come from ``palette.py``, the one palette of the project.
"""
import os.path as osp

import cv2
import mmcv
import numpy as np
import torch
from mmcv.parallel import MMDataParallel, collate, is_module_wrapper

from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON, resolve_keypoint_meta
from .palette import BOX, CENTRE, TEXT, keypoint_colors


def imshow_keypoints(img,
                     bboxes,
                     keypoints,
                     skeleton=None,
                     keypoint_names=None,
                     score_thr=0.3,
                     kpt_thr=0.2,
                     bbox_color=BOX,
                     thickness=1,
                     radius=2):
    """Draw instances on a copy of ``img``.

    Args:
        img (str | np.ndarray[h, w, 3]): image (BGR) or its path.
        bboxes (np.ndarray[n, 4 or 5]): boxes, with a score column if 5 wide (instances under
            ``score_thr`` are skipped).
        keypoints (np.ndarray[n, K, 3]): (x, y, score or visibility).
        skeleton (list[tuple[int, int]] | None): 0-based limbs; COCO's when K = 17 and None.
        keypoint_names (list[str] | None): to colour left/right.

    Returns:
        np.ndarray[h, w, 3]: the drawn image.
    """
    img = mmcv.imread(img).copy()
    bboxes = np.asarray(bboxes, dtype=np.float32).reshape(-1, bboxes.shape[-1] if len(bboxes) else 4)
    keypoints = np.asarray(keypoints, dtype=np.float32)
    num_kpts = keypoints.shape[1] if keypoints.ndim == 3 else 0
    if skeleton is None and num_kpts == len(COCO_KEYPOINT_NAMES):
        skeleton = COCO_SKELETON
    colors = keypoint_colors(num_kpts, keypoint_names)
    for i in range(len(bboxes)):  # drawing only: one cv2 call per primitive
        if bboxes.shape[1] == 5 and bboxes[i, 4] < score_thr:
            continue
        x1, y1, x2, y2 = bboxes[i, :4].round().astype(int)
        cv2.rectangle(img, (x1, y1), (x2, y2), bbox_color, thickness)
        if bboxes.shape[1] == 5:
            cv2.putText(img, f'{bboxes[i, 4]:.2f}', (x1, max(y1 - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        bbox_color, 1, cv2.LINE_AA)
        if i >= len(keypoints):
            continue
        kpts = keypoints[i]
        for a, b in skeleton or []:
            if kpts[a, 2] > kpt_thr and kpts[b, 2] > kpt_thr:
                color = colors[a] if colors[a] == colors[b] else CENTRE
                cv2.line(img, tuple(kpts[a, :2].round().astype(int)), tuple(kpts[b, :2].round().astype(int)),
                         color, thickness + 1, cv2.LINE_AA)
        for k in range(num_kpts):
            if kpts[k, 2] > kpt_thr:
                cv2.circle(img, tuple(kpts[k, :2].round().astype(int)), radius, colors[k], -1, cv2.LINE_AA)
    return img


def drawing_meta(num_keypoints, dataset_info=None, category=None):
    """Keypoint names and skeleton to draw K keypoints with.

    From ``dataset_info`` and a COCO ``category`` as :func:`resolve_keypoint_meta` reads them (OKS
    sigmas are not needed to draw), else COCO's when K = 17, else none (points only).

    Returns:
        tuple: ``keypoint_names`` (tuple[str] | None) and ``skeleton`` (list of 0-based pairs).
    """
    info = {k: v for k, v in (dataset_info or {}).items() if k in ('keypoint_names', 'skeleton')}
    if 'keypoint_names' not in info and not (category or {}).get('keypoints'):
        if num_keypoints != len(COCO_KEYPOINT_NAMES):
            return None, list(info.get('skeleton') or [])
        info['keypoint_names'] = COCO_KEYPOINT_NAMES
    names = info.get('keypoint_names') or category['keypoints']
    meta = resolve_keypoint_meta(dict(info, sigmas=[1.0] * len(names)), category)
    if len(meta['keypoint_names']) != num_keypoints:
        raise ValueError(f"the meta names {len(meta['keypoint_names'])} keypoints "
                         f"({list(meta['keypoint_names'])}), the results have K={num_keypoints}")
    skeleton = meta['skeleton'] or (list(COCO_SKELETON)
                                    if meta['keypoint_names'] == COCO_KEYPOINT_NAMES else [])
    return meta['keypoint_names'], skeleton


def show_keypoint_result(img,
                         result,
                         score_thr=0.3,
                         kpt_thr=0.2,
                         skeleton=None,
                         keypoint_names=None,
                         show=False,
                         win_name='',
                         wait_time=0,
                         out_file=None,
                         **kwargs):
    """Draw a ``(bbox_results, keypoint_results)`` result of ``KeypointRCNN`` (all classes).

    Extra keyword arguments that mmdet's test loop passes (colours, ...) are accepted and ignored.

    Returns:
        np.ndarray: the drawn image (also written to ``out_file`` / shown when asked).
    """
    bbox_results, keypoint_results = result
    bboxes = np.concatenate([np.asarray(b).reshape(-1, 5) for b in bbox_results])
    num_kpts = next((k.shape[1] for k in keypoint_results if np.asarray(k).ndim == 3), 0)
    keypoints = np.concatenate(
        [np.asarray(k, dtype=np.float32).reshape(-1, num_kpts, 3) for k in keypoint_results])
    drawn = imshow_keypoints(
        img,
        bboxes,
        keypoints,
        skeleton=skeleton,
        keypoint_names=keypoint_names,
        score_thr=score_thr,
        kpt_thr=kpt_thr)
    if show:
        mmcv.imshow(drawn, win_name, wait_time)
    if out_file is not None:
        mmcv.imwrite(drawn, out_file)
    return drawn


def draw_predictions(model, dataset, out_dir, num_images, prefix='', score_thr=0.3):
    """Predict the first ``num_images`` of ``dataset`` and save ground truth | prediction pictures.

    Returns:
        list[str]: the files written.
    """
    net = model.module if is_module_wrapper(model) else model
    device = next(net.parameters()).device
    dp = MMDataParallel(net, device_ids=[device.index or 0] if device.type == 'cuda' else None)
    was_training = net.training
    net.eval()
    files = []
    try:
        for i in range(min(num_images, len(dataset))):
            data = collate([dataset[i]], samples_per_gpu=1)
            with torch.no_grad():
                result = dp(return_loss=False, rescale=True, **data)[0]
            info = dataset.data_infos[i]
            img = mmcv.imread(osp.join(dataset.img_prefix or '', info['filename']))
            ann = dataset.get_ann_info(i)
            gt = imshow_keypoints(
                img,
                ann['bboxes'],
                ann['keypoints'],
                skeleton=dataset.skeleton,
                keypoint_names=dataset.keypoint_names,
                kpt_thr=0)
            bbox_results, keypoint_results = result
            bboxes = np.concatenate([b.reshape(-1, 5) for b in bbox_results])
            kpts = np.concatenate([k.reshape(-1, dataset.num_keypoints, 3) for k in keypoint_results])
            pred = imshow_keypoints(
                img,
                bboxes,
                kpts,
                skeleton=dataset.skeleton,
                keypoint_names=dataset.keypoint_names,
                score_thr=score_thr)
            label_image(gt, 'ground truth')
            label_image(pred, 'prediction')
            out_file = osp.join(out_dir, f'{prefix}{i}.png')
            mmcv.imwrite(np.concatenate([gt, pred], axis=1), out_file)
            files.append(out_file)
    finally:
        net.train(was_training)
    return files


def label_image(img, text):
    """Write ``text`` in the top-left corner of ``img`` (in place)."""
    cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, TEXT, 1, cv2.LINE_AA)
