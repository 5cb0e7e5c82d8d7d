"""Drawing boxes and skeletons (predictions and ground truth) with OpenCV.

Keypoints are (x, y, score-or-visibility) in continuous image pixels; a keypoint is drawn when its
third value exceeds ``kpt_thr``. Left-side limbs are drawn in orange, right-side ones in blue,
the rest in green, so a left/right swap is visible at a glance.
"""
import cv2
import mmcv
import numpy as np

#: COCO's 17-keypoint skeleton, 0-based (the json's 1-based ``skeleton`` minus one).
COCO_SKELETON = [(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
                 (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5),
                 (4, 6)]
#: COCO's 17 keypoint names, in order.
COCO_KEYPOINT_NAMES = [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle'
]

_LEFT, _RIGHT, _CENTRE = (0, 128, 255), (255, 128, 0), (0, 200, 0)  # BGR


def _side_colors(num_keypoints, names=None):
    """BGR colour per keypoint: left / right / centre by name (COCO names when K = 17)."""
    if names is None and num_keypoints == len(COCO_KEYPOINT_NAMES):
        names = COCO_KEYPOINT_NAMES
    if names is None:
        return [_CENTRE] * num_keypoints
    return [_LEFT if n.startswith('left') else _RIGHT if n.startswith('right') else _CENTRE
            for n in names]


def imshow_keypoints(img,
                     bboxes,
                     keypoints,
                     skeleton=None,
                     keypoint_names=None,
                     score_thr=0.3,
                     kpt_thr=0.2,
                     bbox_color=(0, 255, 0),
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
    colors = _side_colors(num_kpts, keypoint_names)
    for i in range(len(bboxes)):  # drawing only: one cv2 call per primitive
        if bboxes.shape[1] == 5 and bboxes[i, 4] < score_thr:
            continue
        x1, y1, x2, y2 = bboxes[i, :4].round().astype(int)
        cv2.rectangle(img, (x1, y1), (x2, y2), bbox_color, thickness)
        if bboxes.shape[1] == 5:
            cv2.putText(img, f'{bboxes[i, 4]:.2f}', (x1, max(y1 - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.35, bbox_color, 1, cv2.LINE_AA)
        if i >= len(keypoints):
            continue
        kpts = keypoints[i]
        for a, b in skeleton or []:
            if kpts[a, 2] > kpt_thr and kpts[b, 2] > kpt_thr:
                color = colors[a] if colors[a] == colors[b] else _CENTRE
                cv2.line(img, tuple(kpts[a, :2].round().astype(int)),
                         tuple(kpts[b, :2].round().astype(int)), color, thickness + 1, cv2.LINE_AA)
        for k in range(num_kpts):
            if kpts[k, 2] > kpt_thr:
                cv2.circle(img, tuple(kpts[k, :2].round().astype(int)), radius, colors[k], -1,
                           cv2.LINE_AA)
    return img


def show_keypoint_result(img, result, score_thr=0.3, kpt_thr=0.2, skeleton=None,
                         keypoint_names=None, show=False, win_name='', wait_time=0,
                         out_file=None, **kwargs):
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
    drawn = imshow_keypoints(img, bboxes, keypoints, skeleton=skeleton,
                             keypoint_names=keypoint_names, score_thr=score_thr, kpt_thr=kpt_thr)
    if show:
        mmcv.imshow(drawn, win_name, wait_time)
    if out_file is not None:
        mmcv.imwrite(drawn, out_file)
    return drawn
