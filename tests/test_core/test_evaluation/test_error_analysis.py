"""Keypoint error diagnosis on hand-made scenes whose errors are known, with COCOeval as the oracle of
OKS and matching."""
import contextlib
import io

import numpy as np
import pytest
from pycocotools.cocoeval import COCOeval

from mmhrkpt.core.evaluation import (ERROR_TYPES, KeypointCOCO, analyze_keypoint_errors, ap_of_corrections,
                                     classify_keypoints, error_counts, keypoint_similarity, match_by_oks)
from mmhrkpt.core.evaluation.error_analysis import (GOOD, INVERSION, JITTER, JITTER_KS, MISS, SWAP,
                                                    UNLABELLED, correct_results, object_keypoint_similarity)
from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, COCO_SIGMAS, derive_flip_pairs

# A 5-keypoint dataset: any K works.
NAMES = ('head', 'left_hand', 'right_hand', 'left_foot', 'right_foot')
FLIP_PAIRS = [(1, 2), (3, 4)]
SIGMAS = np.full(5, 0.1)
AREA = 10000.0  # ks = exp(-d^2 / (2 * 10000 * 0.2^2)) = exp(-d^2 / 800)


def ks_at(d):
    return float(np.exp(-d**2 / 800.0))


def make_coco(persons, num_keypoints, image_ids=(1, )):
    """A KeypointCOCO of ``persons``: list of (image_id, keypoints[K, 3], area)."""
    anns = []
    for i, (img_id, kpts, area) in enumerate(persons):
        kpts = np.asarray(kpts, dtype=np.float64)
        labelled = kpts[kpts[:, 2] > 0]
        x0, y0 = labelled[:, :2].min(0) - 5
        x1, y1 = labelled[:, :2].max(0) + 5
        anns.append(
            dict(
                id=i + 1,
                image_id=img_id,
                category_id=1,
                iscrowd=0,
                area=area,
                bbox=[x0, y0, x1 - x0, y1 - y0],
                keypoints=kpts.reshape(-1).tolist(),
                num_keypoints=int((kpts[:, 2] > 0).sum())))
    coco = KeypointCOCO()
    coco.dataset = dict(
        images=[dict(id=i, width=640, height=480, file_name=f'{i}.png') for i in image_ids],
        categories=[dict(id=1, name='person', keypoints=[f'k{k}' for k in range(num_keypoints)])],
        annotations=anns)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def result(img_id, xy, score):
    xy = np.asarray(xy, dtype=np.float64)
    kpts = np.concatenate([xy, np.ones((len(xy), 1))], 1)
    return dict(image_id=img_id, category_id=1, keypoints=kpts.reshape(-1).tolist(), score=score)


# Person A on the left, person B on the right; every keypoint 60+ pixels from every other.
PERSON_A = np.array([[100, 50, 2], [60, 120, 2], [140, 120, 2], [80, 220, 2], [120, 220, 2]], float)
PERSON_B = PERSON_A + [300, 0, 0]
PERSON_B[4, 2] = 0  # B's right foot is not labelled
PERSON_B[4, :2] = 0


def scene():
    """Prediction of A: head exact (good), left hand 15 px off (jitter), right hand on A's left hand
    (inversion), left foot on B's left foot (swap), right foot 100 px off (miss). Prediction of B:
    left foot on B's right-foot location (not labelled there, so a miss: nothing labelled is near),
    right foot anywhere (not labelled: not classified), the rest exact. A far false positive."""
    pred_a = PERSON_A[:, :2].copy()
    pred_a[1] += [15, 0]
    pred_a[2] = PERSON_A[1, :2]
    pred_a[3] = PERSON_B[3, :2]
    pred_a[4] += [0, 100]
    pred_b = PERSON_B[:, :2].copy()
    pred_b[3] = PERSON_A[4, :2] + [300, 0]
    pred_b[4] = [10, 10]
    far = np.full((5, 2), 600.0)
    results = [result(1, pred_a, 0.9), result(1, pred_b, 0.8), result(1, far, 0.7)]
    coco = make_coco([(1, PERSON_A, AREA), (1, PERSON_B, AREA)], 5)
    return coco, results


def test_keypoint_similarity_formula():
    ks = keypoint_similarity(np.array([[[15.0, 0.0]] * 5]), np.zeros((1, 5, 2)), [AREA], SIGMAS)
    assert ks.shape == (1, 1, 5)
    np.testing.assert_allclose(ks, ks_at(15.0), rtol=1e-12)


def test_oks_and_matching_equal_cocoeval():
    rng = np.random.default_rng(0)
    gts = [(1,
            np.concatenate([rng.uniform(0, 400,
                                        (17, 2)), rng.integers(0, 3, (17, 1))],
                           1), float(rng.uniform(2000, 20000))) for _ in range(4)]
    for _, kpts, _ in gts:
        kpts[0, 2] = 2  # at least one labelled keypoint
    coco = make_coco(gts, 17)
    # noisy copies of the first three persons and two near-random ones
    preds = [
        result(1, kpts[:, :2] + rng.normal(0, 12, (17, 2)), float(rng.uniform())) for _, kpts, _ in gts[:3]
    ]
    preds += [
        result(1, gts[3][1][:, :2] + rng.normal(0, 60, (17, 2)), float(rng.uniform())),
        result(1, rng.uniform(0, 400, (17, 2)), float(rng.uniform()))
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_eval = COCOeval(coco, coco.loadRes([dict(p) for p in preds]), 'keypoints')
        coco_eval.params.kpt_oks_sigmas = COCO_SIGMAS
        coco_eval.params.iouThrs = np.array([0.1])
        coco_eval.evaluate()
    order = np.argsort([-p['score'] for p in preds], kind='mergesort')
    gt_kpts = np.stack([k for _, k, _ in gts])
    pred_xy = np.asarray([preds[i]['keypoints'] for i in order]).reshape(-1, 17, 3)[..., :2]
    ks = keypoint_similarity(pred_xy, gt_kpts[..., :2], [a for _, _, a in gts], COCO_SIGMAS)
    oks = object_keypoint_similarity(ks, gt_kpts[..., 2] > 0)
    np.testing.assert_allclose(oks, coco_eval.ious[(1, 1)], rtol=1e-9)

    pred_i, gt_i = match_by_oks(oks, np.asarray([preds[i]['score'] for i in order]), 0.1)
    ev = coco_eval.evalImgs[0]  # area range 'all'
    expected = {d: int(g) for d, g in zip(ev['dtIds'], ev['dtMatches'][0]) if g}
    ours = {int(ev['dtIds'][p]): int(ev['gtIds'][g]) for p, g in zip(pred_i, gt_i)}
    assert ours == expected and len(ours) >= 3


def test_classify_hand_made_scene_exactly():
    coco, results = scene()
    analysis = analyze_keypoint_errors(coco, results, SIGMAS, FLIP_PAIRS, [1], [1])
    assert analysis['result_index'].tolist() == [0, 1]  # the false positive is not matched
    assert analysis['ann_id'].tolist() == [1, 2]
    assert analysis['labels'].tolist() == [[GOOD, JITTER, INVERSION, SWAP, MISS],
                                           [GOOD, GOOD, GOOD, MISS, UNLABELLED]]
    np.testing.assert_allclose(analysis['best_ks'][0, :4], [1.0, ks_at(15.0), 1.0, 1.0])
    counts = error_counts(analysis['labels'], 5)
    assert counts.sum(0).tolist() == [4, 1, 1, 1, 2]  # good jitter inversion swap miss
    assert counts[3].tolist() == [0, 0, 0, 1, 1]  # left foot: one swap, one miss
    assert ERROR_TYPES == ('good', 'jitter', 'inversion', 'swap', 'miss')
    a_oks = (1 + ks_at(15) + ks_at(80) + ks_at(300) + ks_at(100)) / 5
    np.testing.assert_allclose(analysis['oks'][0], a_oks, rtol=1e-9)
    np.testing.assert_allclose(analysis['image_oks'][1], np.mean(analysis['oks']))


def test_highest_similarity_decides():
    """0.6 to its own keypoint but 0.9 to another person's: a swap, not a jitter."""
    gts = np.stack([PERSON_A, PERSON_A + [0, 0, 0]])
    gts[1, :, 0] += 30  # a second person 30 px to the right
    pred = PERSON_A[None, :, :2].copy()
    d_own = np.sqrt(-800 * np.log(0.6))
    pred[0, 0, 0] += d_own
    gts[1, 0, 0] = pred[0, 0, 0] + np.sqrt(-800 * np.log(0.9))
    labels, best = classify_keypoints(pred, [0], gts, [AREA, AREA], SIGMAS, FLIP_PAIRS)
    assert labels[0, 0] == SWAP
    np.testing.assert_allclose(best[0, 0], 0.9)


def test_coco_17_left_right_swapped_wrists_are_inversions():
    rng = np.random.default_rng(1)
    kpts = np.concatenate([rng.uniform(100, 300, (17, 2)), np.full((17, 1), 2.0)], 1)
    names = list(COCO_KEYPOINT_NAMES)
    lw, rw = names.index('left_wrist'), names.index('right_wrist')
    kpts[rw, :2] = kpts[lw, :2] + [80, 0]
    coco = make_coco([(1, kpts, 40000.0)], 17)
    pred = kpts[:, :2].copy()
    pred[[lw, rw]] = pred[[rw, lw]]
    analysis = analyze_keypoint_errors(coco, [result(1, pred, 1.0)], COCO_SIGMAS, derive_flip_pairs(names),
                                       [1], [1])
    labels = analysis['labels'][0]
    assert labels[lw] == INVERSION and labels[rw] == INVERSION
    assert (np.delete(labels, [lw, rw]) == GOOD).all()


def test_corrections_reach_their_target_similarity():
    coco, results = scene()
    analysis = analyze_keypoint_errors(coco, results, SIGMAS, FLIP_PAIRS, [1], [1])
    gt_a = PERSON_A[None, :, :2]
    for error, kpt, target in ((JITTER, 1, 0.85), (INVERSION, 2, 1.0), (SWAP, 3, 1.0), (MISS, 4, JITTER_KS)):
        fixed = correct_results(results, analysis, SIGMAS, [error])
        xy = np.asarray(fixed[0]['keypoints']).reshape(5, 3)[None, :, :2]
        ks = keypoint_similarity(xy, gt_a, [AREA], SIGMAS)[0, 0]
        np.testing.assert_allclose(ks[kpt], target, rtol=1e-9)
        untouched = [k for k in range(5) if k != kpt]
        np.testing.assert_array_equal(xy[0, untouched],
                                      np.asarray(results[0]['keypoints']).reshape(5, 3)[untouched, :2])
    assert results[0]['keypoints'][3:5] == [75.0, 120.0]  # the input is not modified


def test_ap_of_corrections():
    coco, results = scene()
    analysis = analyze_keypoint_errors(coco, results, SIGMAS, FLIP_PAIRS, [1], [1])
    stats = ap_of_corrections(coco, results, analysis, SIGMAS, [1], [1])
    assert set(stats) == {'original', 'jitter', 'inversion', 'swap', 'miss', 'all'}
    # correcting everything of A makes its OKS >= mean(0.85, 0.85, 1, 1, 0.5) > 0.8
    assert stats['all'][0] > stats['original'][0]
    for name in ('jitter', 'inversion', 'swap', 'miss'):
        assert stats['original'][0] <= stats[name][0] <= stats['all'][0] + 1e-12


def test_no_match_and_no_prediction():
    coco = make_coco([(1, PERSON_A, AREA), (2, PERSON_B, AREA)], 5, image_ids=(1, 2, 3))
    results = [result(1, np.full((5, 2), 600.0), 0.5)]
    analysis = analyze_keypoint_errors(coco, results, SIGMAS, FLIP_PAIRS, [1, 2, 3], [1])
    assert analysis['labels'].shape == (0, 5)
    assert analysis['image_oks'] == {1: 0.0, 2: 0.0}  # image 3 has no person: not ranked
    with pytest.raises(ValueError, match='expected 3\\*K = 15'):
        analyze_keypoint_errors(coco, [dict(results[0], keypoints=[0.0] * 51)], SIGMAS, FLIP_PAIRS, [1], [1])
