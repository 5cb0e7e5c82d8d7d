"""Keypoint error diagnosis of Ronchi & Perona, "Benchmarking and Error Diagnosis in Multi-Instance
Pose Estimation" (ICCV 2017), for any K.

Letters: P predictions of an image, G ground-truth persons of the image, M matched (prediction,
ground truth) pairs, K keypoints. Predictions and annotations are in one pixel frame (COCO's:
results as ``keypoint_results_to_json`` writes them and raw annotations).

**Keypoint similarity.** The ks of a predicted keypoint p to a ground-truth keypoint g of a person of
area s (the annotation's ``area``) with the keypoint's OKS constant sigma is
``ks = exp(-|p - g|^2 / (2 s (2 sigma)^2))``, COCOeval's per-keypoint term; a person's OKS is the
mean ks over its labelled keypoints (v > 0).

**Matching.** As COCOeval: predictions by decreasing score, each to the still unmatched ground
truth of highest OKS, when that OKS is at least ``match_thr``. The paper matches at the loosest
localisation threshold, OKS 0.1, so that even badly placed poses are diagnosed rather than dropped.
Ground truths without labelled keypoints and crowd regions are not matched (COCOeval ignores them).

**Error types** of each labelled keypoint of a matched prediction. The keypoint's ks is computed
to (a) its own ground-truth keypoint, (b) the left/right counterpart of that keypoint in the same
person (the dataset's flip pairs; keypoints without a counterpart have none) and (c) the same and
the counterpart keypoints of every other ground-truth person of the image (each with that person's
area). The highest of them decides, ties going to (a), then (b):

- good: (a) is highest and ks >= 0.85;
- jitter: (a) is highest and 0.5 <= ks < 0.85, a small error around the right location;
- inversion: (b) is highest and ks >= 0.5, the left/right parts of one person confused;
- swap: (c) is highest and ks >= 0.5, a part of another person taken;
- miss: every ks < 0.5, the keypoint is near no body part of that type.

Keypoints unlabelled in their own ground truth are not classified (``UNLABELLED``).

**Correction** (what the AP cost of an error type is measured with): an erroneous keypoint is
moved to its own ground-truth keypoint, shifted along x by the distance at which its ks becomes
0.85 (jitter: it becomes good), 0.5 (miss: it becomes a jitter) or the ks it had with the part it
was confused with (inversion, swap: the same error, now at the right part). COCOeval on the
corrected results minus COCOeval on the original ones is that type's AP cost.
"""
import contextlib
import copy
import io
from collections import defaultdict

import numpy as np

ERROR_TYPES = ('good', 'jitter', 'inversion', 'swap', 'miss')
GOOD, JITTER, INVERSION, SWAP, MISS = range(len(ERROR_TYPES))
UNLABELLED = -1
GOOD_KS = 0.85
JITTER_KS = 0.5
# The paper's localisation threshold: the loosest OKS at which a prediction is matched.
MATCH_OKS = 0.1
# COCOeval's maxDets for keypoints: only the 20 best-scored predictions of an image count.
MAX_DETS = 20
# Names of COCOeval('keypoints').stats[0..9].
COCO_KEYPOINT_STATS = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl')


def keypoint_similarity(pred_xy, gt_xy, areas, sigmas):
    """ks of every predicted keypoint to the same keypoint of every ground truth.

    Args:
        pred_xy (np.ndarray[P, K, 2]): predicted keypoints.
        gt_xy (np.ndarray[G, K, 2]): ground-truth keypoints.
        areas (np.ndarray[G]): the ground truths' areas.
        sigmas (np.ndarray[K]): OKS constants.

    Returns:
        np.ndarray[P, G, K]: ``exp(-d^2 / (2 area (2 sigma)^2))`` (COCOeval's, with its epsilon).
    """
    pred_xy = np.asarray(pred_xy, dtype=np.float64)
    gt_xy = np.asarray(gt_xy, dtype=np.float64)
    d2 = ((pred_xy[:, None] - gt_xy[None])**2).sum(-1)
    variances = (2 * np.asarray(sigmas, dtype=np.float64))**2
    areas = np.asarray(areas, dtype=np.float64)[None, :, None]
    return np.exp(-d2 / variances / (areas + np.spacing(1)) / 2)


def object_keypoint_similarity(ks, labelled):
    """OKS of every (prediction, ground truth) pair: mean ks over the ground truth's labelled keypoints.

    Args:
        ks (np.ndarray[P, G, K]): from :func:`keypoint_similarity`.
        labelled (np.ndarray[G, K]): bool, the ground truth's keypoints with v > 0.

    Returns:
        np.ndarray[P, G]: OKS (0 for a ground truth without labelled keypoints).
    """
    labelled = np.asarray(labelled, dtype=bool)
    return (ks * labelled[None]).sum(-1) / np.maximum(labelled.sum(-1), 1)[None]


def flip_index(flip_pairs, num_keypoints):
    """The left/right counterpart of every keypoint.

    Returns:
        tuple: ``index`` np.ndarray[K] (keypoint k's counterpart, k itself when it has none) and
        ``has_pair`` np.ndarray[K] bool.
    """
    index = np.arange(num_keypoints)
    for i, j in flip_pairs:
        index[i], index[j] = j, i
    return index, index != np.arange(num_keypoints)


def match_by_oks(oks, scores, match_thr=MATCH_OKS):
    """COCOeval's greedy matching: by decreasing score, each prediction to the unmatched ground truth
    of highest OKS if that is >= ``match_thr``.

    Args:
        oks (np.ndarray[P, G]): OKS of every pair.
        scores (np.ndarray[P]): instance scores.

    Returns:
        tuple: ``pred_index`` np.ndarray[M] and ``gt_index`` np.ndarray[M], in matching order.
    """
    oks = np.asarray(oks, dtype=np.float64).reshape(len(scores), -1)
    taken = np.zeros(oks.shape[1], dtype=bool)
    pred_index, gt_index = [], []
    # Sequential by definition: a prediction may only take what better-scored ones left.
    for p in np.argsort(-np.asarray(scores), kind='mergesort'):
        candidates = np.where(taken, -1.0, oks[p])
        if not len(candidates):
            break
        g = int(np.argmax(candidates))
        if candidates[g] >= match_thr:
            taken[g] = True
            pred_index.append(int(p))
            gt_index.append(g)
    return np.asarray(pred_index, dtype=np.int64), np.asarray(gt_index, dtype=np.int64)


def classify_keypoints(pred_xy, own_gt, gt_keypoints, areas, sigmas, flip_pairs):
    """Error type of every keypoint of the matched predictions of one image (module docstring).

    Args:
        pred_xy (np.ndarray[M, K, 2]): the matched predictions' keypoints.
        own_gt (np.ndarray[M]): index into the G ground truths of each prediction's match.
        gt_keypoints (np.ndarray[G, K, 3]): (x, y, v) of every ground-truth person of the image.
        areas (np.ndarray[G]): their areas.
        sigmas (np.ndarray[K]): OKS constants.
        flip_pairs (list[tuple[int, int]]): left/right pairs.

    Returns:
        tuple: ``labels`` np.ndarray[M, K] int64 (``GOOD`` ... ``MISS`` or ``UNLABELLED``) and
        ``best_ks`` np.ndarray[M, K], the ks that decided (0 where unlabelled).
    """
    gt_keypoints = np.asarray(gt_keypoints, dtype=np.float64)
    num_gts, num_kpts = gt_keypoints.shape[:2]
    own_gt = np.asarray(own_gt, dtype=np.int64)
    counterpart, has_pair = flip_index(flip_pairs, num_kpts)
    labelled = gt_keypoints[..., 2] > 0  # [G, K]
    ks_same = keypoint_similarity(pred_xy, gt_keypoints[..., :2], areas, sigmas)  # [M, G, K]
    # keypoint k against keypoint counterpart[k] of each person
    ks_flip = keypoint_similarity(pred_xy, gt_keypoints[:, counterpart, :2], areas, sigmas[counterpart])
    ks_same = np.where(labelled[None], ks_same, -1.0)
    ks_flip = np.where((labelled[:, counterpart] & has_pair[None])[None], ks_flip, -1.0)

    rows = np.arange(len(own_gt))
    own = ks_same[rows, own_gt]  # [M, K]
    own_flip = ks_flip[rows, own_gt]
    others = np.ones((len(own_gt), num_gts), dtype=bool)
    others[rows, own_gt] = False
    other = np.where(others[..., None], np.maximum(ks_same, ks_flip), -1.0).max(1)
    candidates = np.stack([own, own_flip, other], 1)  # [M, 3, K]
    best = candidates.max(1)
    which = candidates.argmax(1)  # first maximum: own, then its counterpart, then the others

    labels = np.full(own.shape, MISS, dtype=np.int64)
    close = best >= JITTER_KS
    labels[close & (which == 0)] = JITTER
    labels[close & (which == 0) & (best >= GOOD_KS)] = GOOD
    labels[close & (which == 1)] = INVERSION
    labels[close & (which == 2)] = SWAP
    own_labelled = labelled[own_gt]
    labels[~own_labelled] = UNLABELLED
    return labels, np.where(own_labelled, np.maximum(best, 0.0), 0.0)


def distance_at_ks(ks, areas, sigmas):
    """The distance d at which ``exp(-d^2 / (2 area (2 sigma)^2))`` equals ``ks``.

    Args:
        ks (np.ndarray[M, K]): in (0, 1].
        areas (np.ndarray[M]): the ground truths' areas.
        sigmas (np.ndarray[K]): OKS constants.

    Returns:
        np.ndarray[M, K]
    """
    ks = np.clip(np.asarray(ks, dtype=np.float64), np.spacing(1), 1.0)
    variances = (2 * np.asarray(sigmas, dtype=np.float64))**2
    areas = np.asarray(areas, dtype=np.float64)[:, None] + np.spacing(1)
    return np.sqrt(-2.0 * np.log(ks) * areas * variances)


def corrected_keypoints(pred_xy, gt_xy, areas, sigmas, labels, best_ks, error_types):
    """Matched predictions with the keypoints of ``error_types`` corrected (module docstring).

    Args:
        pred_xy (np.ndarray[M, K, 2]): the matched predictions' keypoints.
        gt_xy (np.ndarray[M, K, 2]): their own ground truths' keypoints.
        areas (np.ndarray[M]): their own ground truths' areas.
        sigmas (np.ndarray[K]): OKS constants.
        labels, best_ks (np.ndarray[M, K]): from :func:`classify_keypoints`.
        error_types (Sequence[int]): among ``JITTER``, ``INVERSION``, ``SWAP``, ``MISS``.

    Returns:
        np.ndarray[M, K, 2]: the corrected keypoints (a new array).
    """
    labels = np.asarray(labels)
    target = np.where(labels == JITTER, GOOD_KS, np.where(labels == MISS, JITTER_KS, best_ks))
    shift = distance_at_ks(target, areas, sigmas)
    moved = np.asarray(gt_xy, dtype=np.float64).copy()
    moved[..., 0] += shift
    fix = np.isin(labels, list(error_types))
    return np.where(fix[..., None], moved, np.asarray(pred_xy, dtype=np.float64))


def _ground_truths(coco, img_id, cat_ids, num_keypoints):
    """Non-crowd annotations of ``img_id`` with a labelled keypoint: (annotations, keypoints[G, K, 3],
    areas[G])."""
    anns = [
        a for a in coco.loadAnns(coco.getAnnIds(imgIds=[img_id], catIds=cat_ids))
        if not a.get('iscrowd', 0) and not a.get('ignore', 0) and np.any(
            np.asarray(a['keypoints'][2::3]) > 0)
    ]
    keypoints = np.asarray([a['keypoints'] for a in anns], dtype=np.float64)
    keypoints = keypoints.reshape(len(anns), num_keypoints, 3)
    areas = np.asarray([a['area'] for a in anns], dtype=np.float64)
    return anns, keypoints, areas


def analyze_keypoint_errors(coco,
                            results,
                            sigmas,
                            flip_pairs,
                            img_ids,
                            cat_ids,
                            match_thr=MATCH_OKS,
                            max_dets=MAX_DETS):
    """Match and classify the keypoints of every image of ``img_ids``.

    Args:
        coco (pycocotools.coco.COCO): the ground truth.
        results (list[dict]): COCO keypoint results (``image_id``, ``keypoints`` [3K], ``score``).
        sigmas (np.ndarray[K]): the dataset's OKS constants.
        flip_pairs (list[tuple[int, int]]): the dataset's left/right pairs.
        img_ids, cat_ids (Sequence[int]): the images and the person category to analyse.
        match_thr (float): the OKS a match needs.
        max_dets (int): the best-scored predictions per image that count, as COCOeval's maxDets.

    Returns:
        dict: over the M matches of all images, ``result_index`` np.ndarray[M] (into ``results``),
        ``ann_id`` [M], ``image_id`` [M], ``oks`` [M], ``labels`` [M, K], ``best_ks`` [M, K],
        ``gt_xy`` [M, K, 2], ``areas`` [M]; and ``image_oks``: dict image id -> mean OKS of the
        image's matches (0.0 for an image with ground truth and no match; images without a
        countable ground truth are left out).
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    num_kpts = len(sigmas)
    by_image = defaultdict(list)
    for i, res in enumerate(results):
        if len(res['keypoints']) != 3 * num_kpts:
            raise ValueError(f"result {i} (image id={res['image_id']}) has {len(res['keypoints'])} "
                             f'keypoint values, expected 3*K = {3 * num_kpts} (K from the dataset meta)')
        by_image[res['image_id']].append(i)
    fields = defaultdict(list)
    image_oks = {}
    for img_id in img_ids:  # matching is per image
        anns, gts, areas = _ground_truths(coco, img_id, cat_ids, num_kpts)
        index = np.asarray(by_image.get(img_id, []), dtype=np.int64)
        scores = np.asarray([results[i]['score'] for i in index], dtype=np.float64)
        keep = np.argsort(-scores, kind='mergesort')[:max_dets]
        index, scores = index[keep], scores[keep]
        if not anns:
            continue
        if not len(index):
            image_oks[img_id] = 0.0
            continue
        preds = np.asarray([results[i]['keypoints'] for i in index], dtype=np.float64)
        preds = preds.reshape(len(index), num_kpts, 3)[..., :2]
        ks = keypoint_similarity(preds, gts[..., :2], areas, sigmas)
        oks = object_keypoint_similarity(ks, gts[..., 2] > 0)
        pred_i, gt_i = match_by_oks(oks, scores, match_thr)
        image_oks[img_id] = float(oks[pred_i, gt_i].mean()) if len(pred_i) else 0.0
        if not len(pred_i):
            continue
        labels, best_ks = classify_keypoints(preds[pred_i], gt_i, gts, areas, sigmas, flip_pairs)
        fields['result_index'].append(index[pred_i])
        fields['ann_id'].append(np.asarray([anns[g]['id'] for g in gt_i], dtype=np.int64))
        fields['image_id'].append(np.full(len(pred_i), img_id, dtype=np.int64))
        fields['oks'].append(oks[pred_i, gt_i])
        fields['labels'].append(labels)
        fields['best_ks'].append(best_ks)
        fields['gt_xy'].append(gts[gt_i, :, :2])
        fields['areas'].append(areas[gt_i])
    shapes = dict(
        result_index=(0, ),
        ann_id=(0, ),
        image_id=(0, ),
        oks=(0, ),
        labels=(0, num_kpts),
        best_ks=(0, num_kpts),
        gt_xy=(0, num_kpts, 2),
        areas=(0, ))
    out = {
        k: np.concatenate(fields[k]) if fields[k] else np.zeros(
            shape, dtype=np.int64 if k in ('result_index', 'ann_id', 'image_id', 'labels') else np.float64)
        for k, shape in shapes.items()
    }
    out['image_oks'] = image_oks
    return out


def error_counts(labels, num_keypoints):
    """Counts of each error type per keypoint.

    Args:
        labels (np.ndarray[M, K]): from :func:`classify_keypoints` (``UNLABELLED`` not counted).

    Returns:
        np.ndarray[K, len(ERROR_TYPES)] int64.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1, num_keypoints)
    return (labels[..., None] == np.arange(len(ERROR_TYPES))).sum(0)


def correct_results(results, analysis, sigmas, error_types):
    """A copy of ``results`` whose matched predictions have the keypoints of ``error_types``
    corrected (:func:`corrected_keypoints`)."""
    fixed = copy.deepcopy(results)
    if not len(analysis['result_index']):
        return fixed
    index = analysis['result_index']
    preds = np.asarray([results[i]['keypoints'] for i in index], dtype=np.float64)
    preds = preds.reshape(len(index), len(sigmas), 3)
    preds[..., :2] = corrected_keypoints(preds[..., :2], analysis['gt_xy'], analysis['areas'], sigmas,
                                         analysis['labels'], analysis['best_ks'], error_types)
    for i, keypoints in zip(index, preds.reshape(len(index), -1).tolist()):
        fixed[i]['keypoints'] = keypoints
    return fixed


def coco_keypoint_stats(coco, results, sigmas, img_ids, cat_ids):
    """COCOeval('keypoints') of ``results`` with the OKS ``sigmas``, silently.

    Each result's ``bbox`` is left out, so that the area of a prediction is its keypoints' extent, as
    for the official keypoint results format.

    Returns:
        np.ndarray[10]: COCOeval's stats (``COCO_KEYPOINT_STATS``; -1 where a size has no person).
    """
    from mmdet.datasets.api_wrappers import COCOeval

    from .keypoint_eval import KeypointCOCO
    if not isinstance(coco, KeypointCOCO):
        raise TypeError('coco_keypoint_stats needs a KeypointCOCO (empty results are valid)')
    dets = [{k: v for k, v in r.items() if k != 'bbox'} for r in copy.deepcopy(results)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_eval = COCOeval(coco, coco.loadRes(dets), 'keypoints')
        coco_eval.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        coco_eval.params.imgIds = list(img_ids)
        coco_eval.params.catIds = list(cat_ids)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return np.asarray(coco_eval.stats, dtype=np.float64)


def ap_of_corrections(coco, results, analysis, sigmas, img_ids, cat_ids):
    """COCO keypoint stats of the results as they are, with each error type corrected alone, and with
    all four corrected.

    Returns:
        dict[str, np.ndarray[10]]: keys ``original``, ``jitter``, ``inversion``, ``swap``, ``miss``,
        ``all`` (COCOeval's stats, ``COCO_KEYPOINT_STATS``).
    """
    errors = (JITTER, INVERSION, SWAP, MISS)
    stats = dict(original=coco_keypoint_stats(coco, results, sigmas, img_ids, cat_ids))
    for error in errors:
        fixed = correct_results(results, analysis, sigmas, [error])
        stats[ERROR_TYPES[error]] = coco_keypoint_stats(coco, fixed, sigmas, img_ids, cat_ids)
    fixed = correct_results(results, analysis, sigmas, errors)
    stats['all'] = coco_keypoint_stats(coco, fixed, sigmas, img_ids, cat_ids)
    return stats
