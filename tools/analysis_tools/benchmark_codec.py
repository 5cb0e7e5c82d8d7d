"""``benchmark.py codec``: mmhrkpt's batched torch codecs against mmpose 0.29's reference functions.

Shape legend: N RoIs, K keypoints, (H, W) the heatmap size.

Both run on the same inputs in the same process (``TopDownGenerateTarget`` looped over instances for
encoding, ``keypoints_from_heatmaps`` for decoding), and each row carries the largest disagreement
between the two next to their times.
"""
from collections import OrderedDict
from functools import partial

import numpy as np
import torch
from benchmark_utils import NUM_KEYPOINTS, VISIBILITY_PROBS, format_table, time_calls

from mmhrkpt.codecs import DarkHeatmap, MSRAHeatmap, UDPHeatmap
from mmhrkpt.testing.mmpose_reference import gaussian_peaks, mmpose_decoder, mmpose_encoder

CODEC_METHODS = ('msra', 'dark', 'udp')
# The codec benchmark's geometry: COCO's 17 keypoints (NUM_KEYPOINTS) on 64 x 48 (H, W) heatmaps,
# sigma 2, and the 11 x 11 blur of DARK / UDP decoding that matches it.
HEATMAP_SIZE = (64, 48)
SIGMA = 2.0
BLUR_KERNEL = 11
# The codec each name of CODEC_METHODS benchmarks, in that geometry.
BENCH_CODECS = dict(
    msra=MSRAHeatmap(HEATMAP_SIZE, SIGMA),
    dark=DarkHeatmap(HEATMAP_SIZE, SIGMA, BLUR_KERNEL),
    udp=UDPHeatmap(HEATMAP_SIZE, SIGMA, BLUR_KERNEL))
# Decode inputs: Gaussian peaks at least this many cells inside the map (where every method refines),
# plus uniform noise of this amplitude.
PEAK_MARGIN = 3.0
PEAK_NOISE = 1e-3
# A keypoint "disagrees" with mmpose beyond these (decode: image px; encode: a target value): the
# tolerances of the codec equivalence tests.
DISAGREEMENT_TOLERANCE = dict(decode=0.01, encode=1e-4)
# mmpose's post_dark_udp computes flat indices in float32, exact below 2^24: N * K * (H + 2) * (W + 2)
# must stay under it, i.e. N <= 299 RoIs of 17 keypoints on 64 x 48 maps.
MMPOSE_UDP_MAX_ROIS = 2**24 // (NUM_KEYPOINTS * (HEATMAP_SIZE[0] + 2) * (HEATMAP_SIZE[1] + 2))


def codec_inputs(num_rois, seed=0):
    """Inputs of the codec benchmark (float32, CPU).

    RoIs are person-like boxes (16..400 px high, W:H 0.3..0.8) in a 640 x 480 image, expanded to the
    heatmap's 3:4 with padding 1.25 as the keypoint branch does. Keypoints lie in and up to 10% beyond
    their RoI, v in {0, 1, 2}. Heatmaps are what a trained head predicts: one Gaussian peak (sigma 2,
    amplitude 0.3..1) per map at a sub-cell position at least ``PEAK_MARGIN`` cells inside the map, plus
    uniform noise of ``PEAK_NOISE``.

    Returns:
        dict: rois Tensor[N, 4], keypoints Tensor[N, K, 3], heatmaps Tensor[N, K, H, W].
    """
    gen = torch.Generator().manual_seed(seed)
    height_px = 16 + torch.rand(num_rois, generator=gen) * 384
    width_px = height_px * (0.3 + 0.5 * torch.rand(num_rois, generator=gen))
    x1 = torch.rand(num_rois, generator=gen) * 640
    y1 = torch.rand(num_rois, generator=gen) * 480
    boxes = torch.stack([x1, y1, x1 + width_px, y1 + height_px], dim=1)
    rois = BENCH_CODECS['msra'].expand_rois(boxes, padding=1.25)

    frac = torch.rand(num_rois, NUM_KEYPOINTS, 2, generator=gen) * 1.2 - 0.1
    xy = rois[:, None, :2] + frac * (rois[:, None, 2:] - rois[:, None, :2])
    vis = torch.multinomial(
        torch.tensor([VISIBILITY_PROBS[2], VISIBILITY_PROBS[1], VISIBILITY_PROBS[0]]),
        num_rois * NUM_KEYPOINTS,
        replacement=True,
        generator=gen).float()
    keypoints = torch.cat([xy, vis.reshape(num_rois, NUM_KEYPOINTS, 1)], dim=2)

    heatmaps, _ = gaussian_peaks(
        gen, num_rois, NUM_KEYPOINTS, HEATMAP_SIZE, sigma=SIGMA, margin=PEAK_MARGIN, noise=PEAK_NOISE)
    return dict(rois=rois, keypoints=keypoints, heatmaps=heatmaps)


def bench_codec(num_rois=(100, 1000), methods=CODEC_METHODS, device='cpu', repeat=5, seed=0):
    """Encode and decode of N RoIs x 17 keypoints x 64x48 maps: mmhrkpt (on ``device``) vs mmpose (numpy,
    CPU), on the same inputs.

    Times are medians of ``repeat`` calls after one untimed call; ours on CUDA includes
    ``torch.cuda.synchronize``. ``max_disagreement``: decode, the largest distance |ours - mmpose| of a
    keypoint coordinate in image pixels; encode, the largest |ours - mmpose| of a target value.
    ``num_disagreeing``: keypoints beyond ``DISAGREEMENT_TOLERANCE`` (of ``num_keypoints``);
    ``weight_mismatches``: keypoints whose 0/1 weight differs. ``alloc_floor_ms`` (encode): the time to
    allocate and fill a fresh Tensor[N, K, H, W] on the device, the floor of any encoder that returns new
    targets (at large N, mostly the kernel's page faults on a freshly mapped buffer).

    mmpose's UDP decoding (``post_dark_udp``) indexes the flattened maps with float32 numbers, exact only
    up to 2^24: with more than ``MMPOSE_UDP_MAX_ROIS`` RoIs (17 keypoints, 64 x 48) it reads wrong cells.
    Its time is taken on the single call as users make it, its answer for the disagreement from calls on
    chunks of at most that many RoIs; ``mmpose_single_call_max_disagreement`` keeps the single call's.

    Returns:
        list[dict]: one row per (operation, method, N).
    """
    if repeat < 1:
        raise ValueError(f'need repeat >= 1, got {repeat}')
    rows = []
    height, width = HEATMAP_SIZE
    for num in num_rois:
        inputs = codec_inputs(num, seed)
        on_device = {k: v.to(device) for k, v in inputs.items()}
        for method in methods:
            codec = BENCH_CODECS[method]
            ours = partial(codec.encode, on_device['keypoints'], on_device['rois'])
            reference = mmpose_encoder(inputs['keypoints'], inputs['rois'], HEATMAP_SIZE, SIGMA, method)
            ours_ms = time_calls(ours, repeat, device)
            ref_ms = time_calls(reference, repeat)
            alloc_ms = time_calls(
                lambda: torch.empty((num, NUM_KEYPOINTS, height, width), device=device).fill_(1.0), repeat,
                device)
            targets, weights = (t.cpu().numpy() for t in ours())
            ref_targets, ref_weights = reference()
            diff = np.abs(targets - ref_targets).reshape(num * NUM_KEYPOINTS, -1).max(axis=1)
            rows.append(
                _codec_row(
                    'encode',
                    method,
                    num,
                    ours_ms,
                    ref_ms,
                    diff,
                    'target value',
                    weight_mismatches=int((weights != ref_weights).sum()),
                    alloc_floor_ms=float(np.median(alloc_ms))))

            ours = partial(codec.decode, on_device['heatmaps'], on_device['rois'])
            reference = mmpose_decoder(inputs['heatmaps'], inputs['rois'], method, BLUR_KERNEL)
            ours_ms = time_calls(ours, repeat, device)
            ref_ms = time_calls(reference, repeat)
            keypoints, scores = (t.cpu().numpy() for t in ours())
            ref_keypoints, ref_scores = reference()
            extra = {}
            if method == 'udp' and num > MMPOSE_UDP_MAX_ROIS:
                extra['mmpose_single_call_max_disagreement'] = float(np.abs(keypoints - ref_keypoints).max())
                chunks = [
                    mmpose_decoder(inputs['heatmaps'][i:i + MMPOSE_UDP_MAX_ROIS],
                                   inputs['rois'][i:i + MMPOSE_UDP_MAX_ROIS], method, BLUR_KERNEL)()
                    for i in range(0, num, MMPOSE_UDP_MAX_ROIS)
                ]
                ref_keypoints = np.concatenate([c[0] for c in chunks])
                ref_scores = np.concatenate([c[1] for c in chunks])
            diff = np.abs(keypoints - ref_keypoints).reshape(num * NUM_KEYPOINTS, 2).max(axis=1)
            rows.append(
                _codec_row(
                    'decode',
                    method,
                    num,
                    ours_ms,
                    ref_ms,
                    diff,
                    'image px',
                    max_score_diff=float(np.abs(scores - ref_scores).max()),
                    **extra))
    return rows


def _codec_row(operation, method, num, ours_ms, ref_ms, diff, unit, **extra):
    """A result row; ``diff`` (np.ndarray[N * K]) is the disagreement of each keypoint."""
    ours, ref = float(np.median(ours_ms)), float(np.median(ref_ms))
    tolerance = DISAGREEMENT_TOLERANCE[operation]
    return OrderedDict(
        operation=operation,
        method=method,
        num_rois=num,
        ours_ms=ours,
        mmpose_ms=ref,
        speedup=ref / ours if ours > 0 else None,
        max_disagreement=float(diff.max()),
        disagreement_unit=unit,
        disagreement_tolerance=tolerance,
        num_disagreeing=int((diff > tolerance).sum()),
        num_keypoints=int(diff.size),
        ours_ms_all=ours_ms,
        mmpose_ms_all=ref_ms,
        **extra)


def format_codec(rows):
    headers = ('op', 'method', 'N', 'ours ms', 'mmpose ms', 'speed-up', 'max disagreement', 'beyond tol.')
    table = [(r['operation'], r['method'], r['num_rois'], r['ours_ms'], r['mmpose_ms'],
              f"{r['speedup']:.1f}x" if r['speedup'] else None,
              f"{r['max_disagreement']:.2g} {r['disagreement_unit']}",
              f"{r['num_disagreeing']}/{r['num_keypoints']}") for r in rows]
    text = format_table(headers, table)
    notes = [
        'beyond tol.: keypoints disagreeing by more than 0.01 image px (decode) / 1e-4 of a '
        'target value (encode)'
    ]
    for r in rows:
        if 'mmpose_single_call_max_disagreement' in r:
            notes.append(f"udp decode N={r['num_rois']}: mmpose's single call reads wrong cells beyond "
                         f"{MMPOSE_UDP_MAX_ROIS} RoIs (float32 indices in post_dark_udp), max "
                         f"{r['mmpose_single_call_max_disagreement']:.3g} px from ours; compared with mmpose "
                         f"on chunks of {MMPOSE_UDP_MAX_ROIS} RoIs instead (timed as one call)")
        if r['operation'] == 'encode' and r['alloc_floor_ms'] > 0.5 * r['ours_ms']:
            notes.append(f"encode {r['method']} N={r['num_rois']}: allocating and filling a fresh "
                         f"[N, K, H, W] output alone takes {r['alloc_floor_ms']:.3g} ms of ours' "
                         f"{r['ours_ms']:.3g} ms")
    return text + '\n' + '\n'.join(f'note: {n}' for n in notes)
