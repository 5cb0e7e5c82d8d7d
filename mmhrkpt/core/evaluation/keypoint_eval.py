"""COCO keypoint evaluation: results to COCO's json format and COCOeval('keypoints') with a dataset's
OKS sigmas (any K).

Letters: n detections of an image, K keypoints.
"""
import contextlib
import copy
import io
import json
from collections import OrderedDict

import mmcv
import numpy as np
from mmcv.utils import print_log
from mmdet.datasets.api_wrappers import COCO, COCOeval
from pycocotools.coco import COCO as PyCOCO

# Names of COCOeval(iouType='keypoints').stats[0..5].
KEYPOINT_METRIC_NAMES = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR')
# Names of xtcocotools' COCOeval(iouType='keypoints_crowd').stats[0..8]: easy / medium / hard are the
# images of crowdIndex < 0.2, in [0.2, 0.8) and >= 0.8.
CROWDPOSE_METRIC_NAMES = ('AP', 'AP50', 'AP75', 'AR', 'AR50', 'AR75', 'AP_easy', 'AP_medium', 'AP_hard')


class KeypointCOCO(COCO):
    """mmdet's COCO api whose ``loadRes`` also accepts an empty result list, and loads keypoint
    results without a Python loop of numpy calls per result.

    pycocotools fails on ``loadRes([])`` (it reads ``anns[0]``); an empty result set is a valid
    outcome (a model that detects nothing) and COCOeval then scores 0 everywhere. For keypoint
    results (no ``bbox``, ``segmentation`` or ``caption``) each result's ``bbox`` and ``area`` are the
    extent of its keypoints, as pycocotools computes them, for all results at once.
    """

    def loadRes(self, resFile):  # noqa: N802, N803 (pycocotools' names)
        anns = mmcv.load(resFile) if isinstance(resFile, str) else resFile
        if isinstance(anns, list) and not anns:
            return self._result_coco([])
        if isinstance(anns, list) and isinstance(
                anns[0], dict) and 'keypoints' in anns[0] and not ({'caption', 'segmentation'} & set(anns[0])
                                                                   or anns[0].get('bbox')):
            try:
                keypoints = np.array([ann['keypoints'] for ann in anns], dtype=np.float64)
            except (KeyError, TypeError, ValueError):  # ragged or odd: pycocotools' own message
                keypoints = None
            if keypoints is not None and keypoints.ndim == 2 and keypoints.shape[1] >= 3:
                return self._keypoint_results(anns, keypoints)
        return super().loadRes(anns)

    def _keypoint_results(self, anns, keypoints):
        """pycocotools' ``loadRes`` for keypoint results (D results of 3K values each)."""
        assert {ann['image_id'] for ann in anns} <= set(self.getImgIds()), \
            'Results do not correspond to current coco set'
        x, y = keypoints[:, 0::3], keypoints[:, 1::3]
        x0, x1, y0, y1 = x.min(1), x.max(1), y.min(1), y.max(1)
        columns = (x0.tolist(), y0.tolist(), (x1 - x0).tolist(), (y1 - y0).tolist(),
                   ((x1 - x0) * (y1 - y0)).tolist())
        for i, (ann, left, top, width, height, area) in enumerate(zip(anns, *columns)):
            ann['area'] = area
            ann['id'] = i + 1
            ann['bbox'] = [left, top, width, height]
        return self._result_coco(anns)

    def _result_coco(self, anns):
        res = PyCOCO()
        res.dataset = dict(
            images=list(self.dataset['images']),
            categories=copy.deepcopy(self.dataset.get('categories', [])),
            annotations=anns)
        res.createIndex()
        return res


def dump_json(obj, path):
    """Write ``obj`` as json in one pass of the C encoder (``json.dump``, and so ``mmcv.dump``,
    encode in Python, several times slower for the 100,000 detections of a COCO evaluation)."""
    with open(path, 'w') as f:
        f.write(json.dumps(obj))


def keypoint_results_to_json(results, img_ids, cat_ids, num_keypoints):
    """COCO keypoint results of ``(bbox_results, keypoint_results)`` per image.

    The entry's ``score`` is the instance score ``bbox_results[label][i, 4]``, which the model has
    already rescored (box score combined with the mean confident keypoint score). Each keypoint is
    written (x - 0.5, y - 0.5, its own score): COCO keypoints are pixel indices. ``bbox`` (x, y, w,
    h) is added for convenience.

    Args:
        results (list[tuple]): per image ``(bbox_results, keypoint_results)``, lists over classes of
            ``np.ndarray[n, 5]`` and ``np.ndarray[n, K, 3]``.
        img_ids (Sequence[int]): the COCO image id of each result.
        cat_ids (Sequence[int]): the COCO category id of each class.
        num_keypoints (int): K.

    Returns:
        list[dict]: COCO keypoint results.
    """
    # imported here: the datasets package imports this module while it initialises
    from mmhrkpt.datasets.keypoint_meta import PIXEL_CENTER_OFFSET
    json_results = []
    for img_id, (bbox_result, keypoint_result) in zip(img_ids, results):
        for label, (bboxes, keypoints) in enumerate(zip(bbox_result, keypoint_result)):
            bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 5)
            keypoints = np.asarray(keypoints, dtype=np.float64)
            if keypoints.shape != (len(bboxes), num_keypoints, 3):
                raise ValueError(f'image id={img_id}, label {label}: keypoint results of shape '
                                 f'{keypoints.shape}, expected [{len(bboxes)}, K={num_keypoints}, 3] '
                                 'to match the boxes')
            if not len(bboxes):
                continue
            keypoints = keypoints.copy()
            keypoints[..., :2] -= PIXEL_CENTER_OFFSET
            flat = keypoints.reshape(len(bboxes), -1).tolist()
            xywh = np.concatenate([bboxes[:, :2], bboxes[:, 2:4] - bboxes[:, :2]], 1).tolist()
            scores = bboxes[:, 4].tolist()
            category_id = cat_ids[label]
            for i in range(len(bboxes)):
                json_results.append(
                    dict(
                        image_id=img_id,
                        category_id=category_id,
                        keypoints=flat[i],
                        score=scores[i],
                        bbox=xywh[i]))
    return json_results


def _predictions(keypoint_results):
    """The COCO keypoint results of a json file or a list, without their ``bbox`` (new dicts)."""
    if isinstance(keypoint_results, str):
        keypoint_results = mmcv.load(keypoint_results)
    return [{key: value for key, value in result.items() if key != 'bbox'} for result in keypoint_results]


def evaluate_keypoint_results(coco, keypoint_results, sigmas, cat_ids, img_ids, logger=None):
    """COCO keypoint AP of results against ``coco`` with the OKS ``sigmas`` (any K).

    The ``bbox`` of each entry is ignored, so that the area of a detection (which decides whether an
    unmatched one counts in APm / APl) is its keypoints' extent, as for the official COCO keypoint
    results format.

    Args:
        coco (KeypointCOCO): the ground truth.
        keypoint_results (str | list[dict]): COCO keypoint results, as a json file or its list.
        sigmas (np.ndarray[K]): OKS sigmas.
        cat_ids, img_ids (Sequence[int]): what to evaluate.

    Returns:
        dict[str, float]: ``keypoints_AP``, ``keypoints_AP50``, ``keypoints_AP75``,
        ``keypoints_APm``, ``keypoints_APl``, ``keypoints_AR``.
    """
    print_log('Evaluating keypoints...' if logger is not None else '\nEvaluating keypoints...', logger=logger)
    coco_det = coco.loadRes(_predictions(keypoint_results))
    coco_eval = COCOeval(coco, coco_det, 'keypoints')
    coco_eval.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
    coco_eval.params.catIds = cat_ids
    coco_eval.params.imgIds = img_ids
    coco_eval.evaluate()
    coco_eval.accumulate()
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        coco_eval.summarize()
    print_log('\n' + summary.getvalue(), logger=logger)
    return OrderedDict((f'keypoints_{name}', float(f'{coco_eval.stats[i]:.4f}'))
                       for i, name in enumerate(KEYPOINT_METRIC_NAMES))


def evaluate_crowdpose_results(ann_file, keypoint_results, sigmas, cat_ids, logger=None):
    """CrowdPose keypoint AP of a results file: xtcocotools' ``COCOeval(iouType='keypoints_crowd')``
    on the ground truth of ``ann_file``, as CrowdPose's own evaluation and mmpose's
    ``TopDownCrowdPoseDataset`` run it (no areas: ``use_area=False``).

    xtcocotools reads the images' ``crowdIndex`` from the file itself, so the ground truth is that
    file, and every image of it is evaluated. The ``bbox`` of each entry is ignored.

    Args:
        ann_file (str): the CrowdPose json.
        keypoint_results (str | list[dict]): COCO keypoint results, as a json file or its list.
        sigmas (np.ndarray[K]): OKS sigmas.
        cat_ids (Sequence[int]): the categories to evaluate.

    Returns:
        dict[str, float]: ``keypoints_AP``, ``keypoints_AP50``, ``keypoints_AP75``, ``keypoints_AR``,
        ``keypoints_AR50``, ``keypoints_AR75``, ``keypoints_AP_easy``, ``keypoints_AP_medium``,
        ``keypoints_AP_hard``.
    """
    from xtcocotools.coco import COCO as XTCOCO
    from xtcocotools.cocoeval import COCOeval as XTCOCOeval

    print_log('Evaluating keypoints (CrowdPose)...', logger=logger)
    predictions = _predictions(keypoint_results)
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        coco_gt = XTCOCO(ann_file)
        coco_det = coco_gt.loadRes(predictions)
        coco_eval = XTCOCOeval(
            coco_gt, coco_det, 'keypoints_crowd', np.asarray(sigmas, dtype=np.float64), use_area=False)
        coco_eval.params.useSegm = None
        coco_eval.params.catIds = list(cat_ids)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    print_log('\n' + summary.getvalue(), logger=logger)
    return OrderedDict((f'keypoints_{name}', float(f'{coco_eval.stats[i]:.4f}'))
                       for i, name in enumerate(CROWDPOSE_METRIC_NAMES))
